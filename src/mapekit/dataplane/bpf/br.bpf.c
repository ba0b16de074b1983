// SPDX-License-Identifier: MIT
/* mapekit's BR data plane (docs/dataplane.md, "The bpf backend").
 *
 * mk_br_egress, tc egress of the BR's tunnel device (a TUN the MAP domain's IPv4
 * prefixes are routed into): the CE owning the destination address and port gets the
 * packet, encapsulated.
 * mk_br_ingress, tc ingress of every interface CEs reach the BR on: IPv4-in-IPv6 for
 * the BR address is checked (outer source = the CE of the inner source address and
 * port under the rules), then decapsulated into the tunnel device's ingress (to the
 * IPv4 side), or sent on to the CE that owns the destination (hairpin).
 * Stateless but for fragments: non-first fragments follow their first (LRU map).
 */
#include "mapekit.h"

#define DIR_TO_CE 0
#define DIR_FROM_CE 1
#define DIR_HAIRPIN 2

/* the CE owning the packet's address and port on one side, or why none */
static __always_inline int br_owner(struct __sk_buff *skb, struct mk_ip *p, int source, __u8 *ce)
{
	__u32 addr = source ? p->src : p->dst;
	struct mk_rule *rule = mk_rule_for(addr);
	if (!rule)
		return MK_NO_RULE;
	__u16 port = 0;
	int has_port = mk_port(skb, p, source, &port) == 0;
	return mk_owner(rule, addr, port, has_port, ce);
}

SEC("tc")
int mk_br_egress(struct __sk_buff *skb)
{
	struct mk_config *cfg = mk_cfg();
	struct mk_ip p;
	__u8 peer[16];
	int drop;
	if (!cfg)
		return TC_ACT_SHOT;
	if (skb->protocol != bpf_htons(ETH_P_IP) || mk_parse_ip(skb, 0, &p) < 0) {
		mk_count(DIR_TO_CE, MK_NOT_IPV4, 0);
		return TC_ACT_SHOT;
	}
	if (p.first) {
		drop = br_owner(skb, &p, 0, peer);
		if (p.fragment)
			mk_frag_learn(&p, DIR_TO_CE, drop, drop == MK_PASS ? peer : 0);
	} else {
		struct mk_frag *f = mk_frag_find(&p, DIR_TO_CE);
		drop = f ? f->drop : MK_FRAGMENT_ORPHAN;
		if (f && f->has_peer)
			__builtin_memcpy(peer, f->peer, 16);
		else if (drop == MK_PASS)
			drop = MK_FRAGMENT_ORPHAN;
	}
	if (drop != MK_PASS) {
		mk_count(DIR_TO_CE, drop, 0);
		return TC_ACT_SHOT;
	}
	__u32 len = skb->len;
	struct mk_hop out = {};
	drop = mk_route6(skb, cfg->tun_ifindex, cfg->local6, peer,
			 skb->gso_segs > 1 ? 0 : len + sizeof(struct ipv6hdr), &out);
	if (drop == MK_TOO_BIG) {
		mk_count(DIR_TO_CE, MK_TOO_BIG, 0);
		return TC_ACT_OK; /* the path cannot carry it: the slow path reads it */
	}
	if (drop != MK_PASS || mk_encap(skb, cfg->local6, peer, cfg->hop_limit) < 0) {
		mk_count(DIR_TO_CE, MK_SEND_ERROR, 0);
		return TC_ACT_SHOT;
	}
	mk_count(DIR_TO_CE, MK_PASS, len);
	return bpf_redirect_neigh(out.ifindex, &out.nh, sizeof(out.nh), 0);
}

/* from a CE: the source must be the sender's own; the destination decides where to */
static __always_inline int br_from_ce(struct __sk_buff *skb, struct mk_ip *p, const __u8 *outer,
				      __u8 *target, __u8 *hairpin)
{
	__u8 owner[16];
	int why = br_owner(skb, p, 1, owner);
	if (why == MK_PORT_OUTSIDE_SET)
		return MK_SPOOFED_SOURCE;
	if (why != MK_PASS)
		return why;
	if (!mk_same6(owner, outer))
		return MK_SPOOFED_SOURCE;
	why = br_owner(skb, p, 0, target);
	if (why == MK_NO_RULE)
		return MK_PASS; /* outside the domain: to the IPv4 side */
	if (why == MK_PASS)
		*hairpin = 1;
	return why; /* a domain address that no CE owns with this port, or hairpin */
}

SEC("tc")
int mk_br_ingress(struct __sk_buff *skb)
{
	struct mk_config *cfg = mk_cfg();
	struct ipv6hdr ip6;
	struct mk_ip p;
	__u8 target[16], hairpin = 0;
	int drop;
	if (!cfg || skb->protocol != bpf_htons(ETH_P_IPV6))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6)) < 0)
		return TC_ACT_OK;
	if (ip6.nexthdr != IPPROTO_IPIP_ || !mk_same6((__u8 *)&ip6.daddr, cfg->local6))
		return TC_ACT_OK;
	if (mk_parse_ip(skb, ETH_HLEN + sizeof(ip6), &p) < 0) {
		mk_count(DIR_FROM_CE, MK_NOT_IPV4, 0);
		return TC_ACT_SHOT;
	}
	if (p.first) {
		drop = br_from_ce(skb, &p, (__u8 *)&ip6.saddr, target, &hairpin);
		if (p.fragment)
			mk_frag_learn(&p, DIR_FROM_CE, drop, hairpin ? target : 0);
	} else {
		struct mk_frag *f = mk_frag_find(&p, DIR_FROM_CE);
		drop = f ? f->drop : MK_FRAGMENT_ORPHAN;
		if (f && f->has_peer) {
			hairpin = 1;
			__builtin_memcpy(target, f->peer, 16);
		}
	}
	if (drop != MK_PASS) {
		mk_count(DIR_FROM_CE, drop, 0);
		return TC_ACT_SHOT;
	}
	__u32 len = skb->len - ETH_HLEN - sizeof(ip6);
	if (hairpin) {
		/* re-address the tunnel packet: from the BR to the CE that owns the destination */
		ip6.hop_limit = cfg->hop_limit;
		__builtin_memcpy(&ip6.saddr, cfg->local6, 16);
		__builtin_memcpy(&ip6.daddr, target, 16);
		struct mk_hop out = {};
		if (mk_route6(skb, skb->ingress_ifindex, cfg->local6, target, 0, &out) != MK_PASS ||
		    bpf_skb_store_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6), BPF_F_RECOMPUTE_CSUM) < 0) {
			mk_count(DIR_HAIRPIN, MK_SEND_ERROR, 0);
			return TC_ACT_SHOT;
		}
		mk_count(DIR_HAIRPIN, MK_PASS, len);
		return bpf_redirect_neigh(out.ifindex, &out.nh, sizeof(out.nh), 0);
	}
	if (mk_decap(skb) < 0) {
		mk_count(DIR_FROM_CE, MK_SEND_ERROR, 0);
		return TC_ACT_SHOT;
	}
	mk_count(DIR_FROM_CE, MK_PASS, len);
	return bpf_redirect(cfg->tun_ifindex, BPF_F_INGRESS);
}

char _license[] SEC("license") = "Dual MIT/GPL";

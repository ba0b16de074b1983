// SPDX-License-Identifier: MIT
/* mapekit's CE data plane (docs/dataplane.md, "The bpf backend").
 *
 * mk_ce_egress, tc egress of the tunnel device (a TUN: IPv4 is routed into it, NATed
 * into the port set by nftables first): encapsulates to the BR, or to the CE that an
 * FMR names, and sends out of the WAN.
 * mk_ce_ingress, tc ingress of the WAN: IPv4-in-IPv6 for the CE address is checked
 * (RFC 7597 §8: our address and port set; from another CE, outer source = the CE of the
 * inner source), decapsulated and handed to the tunnel device's ingress, so that the
 * IPv4 stack (conntrack, NAT, rp_filter, iifname rules) sees it arrive there.
 * Both translate between the NAT's virtual ports and the real ports of the set when
 * mk_ports holds a map (dataplane/portmap.py): the NAT then searches the whole set.
 */
#include "mapekit.h"

#define DIR_OUT 0
#define DIR_IN 1

/* the NAT's virtual range <-> the port set: key (TO_REAL or TO_VIRTUAL) << 16 | port */
#define TO_REAL 0
#define TO_VIRTUAL 1
#define MK_PORT_ENTRIES (2 * 65536)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MK_PORT_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, __u16);
} mk_ports SEC(".maps");

/* The port of one side through mk_ports (to_what: TO_REAL or TO_VIRTUAL), its checksum
 * adjusted; a port the map does not hold is left alone. -1 when the packet could not be
 * written. */
static __always_inline int ce_translate(struct __sk_buff *skb, struct mk_ip *p, int source,
					__u32 to_what)
{
	__u32 at, csum;
	__u64 flags;
	__be16 old, new;
	if (mk_port_at(skb, p, source, &at, &csum, &flags) < 0)
		return 0;
	if (bpf_skb_load_bytes(skb, at, &old, sizeof(old)) < 0)
		return 0;
	__u32 key = (to_what << 16) | bpf_ntohs(old);
	__u16 *port = bpf_map_lookup_elem(&mk_ports, &key);
	if (!port)
		return 0;
	new = bpf_htons(*port);
	if (bpf_l4_csum_replace(skb, csum, old, new, flags | sizeof(new)) < 0)
		return -1;
	return bpf_skb_store_bytes(skb, at, &new, sizeof(new), 0) < 0 ? -1 : 0;
}

/* where an outbound packet goes: the BR, or another CE under an FMR */
static __always_inline void ce_peer(struct __sk_buff *skb, struct mk_config *cfg, struct mk_ip *p,
				    __u8 *peer)
{
	__builtin_memcpy(peer, cfg->br6, 16);
	if ((bpf_htonl(p->dst) & cfg->ipv4_mask) == cfg->ipv4)
		return;
	struct mk_rule *rule = mk_rule_for(p->dst);
	if (!rule)
		return;
	__u16 port = 0;
	int has_port = mk_port(skb, p, 0, &port) == 0;
	__u8 ce[16];
	if (mk_owner(rule, p->dst, port, has_port, ce) == MK_PASS)
		__builtin_memcpy(peer, ce, 16);
}

SEC("tc")
int mk_ce_egress(struct __sk_buff *skb)
{
	struct mk_config *cfg = mk_cfg();
	struct mk_ip p;
	__u8 peer[16];
	if (!cfg)
		return TC_ACT_SHOT;
	if (skb->protocol != bpf_htons(ETH_P_IP) || mk_parse_ip(skb, 0, &p) < 0) {
		mk_count(DIR_OUT, MK_NOT_IPV4, 0);
		return TC_ACT_SHOT;
	}
	if (p.first) {
		ce_peer(skb, cfg, &p, peer);
		if (p.fragment)
			mk_frag_learn(&p, DIR_OUT, MK_PASS, peer);
	} else {
		struct mk_frag *f = mk_frag_find(&p, DIR_OUT);
		if (f && f->has_peer)
			__builtin_memcpy(peer, f->peer, 16);
		else
			__builtin_memcpy(peer, cfg->br6, 16); /* no decision known: the BR sorts it out */
	}
	__u32 len = skb->len, mtu = 0;
	if (bpf_check_mtu(skb, cfg->wan_ifindex, &mtu, sizeof(struct ipv6hdr) + ETH_HLEN, 0) ==
	    BPF_MTU_CHK_RET_FRAG_NEEDED) {
		mk_count(DIR_OUT, MK_TOO_BIG, 0);
		return TC_ACT_OK; /* the WAN cannot carry it: the slow path reads it */
	}
	if (ce_translate(skb, &p, 1, TO_REAL) < 0) {
		mk_count(DIR_OUT, MK_SEND_ERROR, 0);
		return TC_ACT_SHOT;
	}
	if (mk_encap(skb, cfg->local6, peer, cfg->hop_limit) < 0) {
		mk_count(DIR_OUT, MK_SEND_ERROR, 0);
		return TC_ACT_SHOT;
	}
	mk_count(DIR_OUT, MK_PASS, len);
	return bpf_redirect_neigh(cfg->wan_ifindex, 0, 0, 0);
}

/* is the packet for our address and port set? */
static __always_inline int ce_for_me(struct __sk_buff *skb, struct mk_config *cfg, struct mk_ip *p)
{
	if ((bpf_htonl(p->dst) & cfg->ipv4_mask) != cfg->ipv4)
		return MK_WRONG_DESTINATION;
	__u32 k = cfg->psid_len & 15, a = cfg->psid_offset & 15;
	if (!k)
		return MK_PASS;
	__u16 port;
	if (mk_port(skb, p, 0, &port) < 0)
		return MK_NO_PORT;
	if (a && !(port >> (16 - a)))
		return MK_PORT_OUTSIDE_SET;
	if (((port >> ((16 - a - k) & 15)) & ((1U << k) - 1)) != cfg->psid)
		return MK_PORT_OUTSIDE_SET;
	return MK_PASS;
}

/* a packet from another CE: its outer source must own its inner source and port */
static __always_inline int ce_peer_ok(struct __sk_buff *skb, struct mk_ip *p, const __u8 *outer)
{
	struct mk_rule *rule = mk_rule_for(p->src);
	if (!rule)
		return MK_SPOOFED_SOURCE;
	__u16 port = 0;
	int has_port = mk_port(skb, p, 1, &port) == 0;
	__u8 ce[16];
	int why = mk_owner(rule, p->src, port, has_port, ce);
	if (why == MK_NO_PORT)
		return MK_NO_PORT;
	if (why != MK_PASS || !mk_same6(ce, outer))
		return MK_SPOOFED_SOURCE;
	return MK_PASS;
}

SEC("tc")
int mk_ce_ingress(struct __sk_buff *skb)
{
	struct mk_config *cfg = mk_cfg();
	struct ipv6hdr ip6;
	struct mk_ip p;
	int drop;
	if (!cfg || skb->protocol != bpf_htons(ETH_P_IPV6))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6)) < 0)
		return TC_ACT_OK;
	if (ip6.nexthdr != IPPROTO_IPIP_ || !mk_same6((__u8 *)&ip6.daddr, cfg->local6))
		return TC_ACT_OK; /* not ours: the stack's */
	if (mk_parse_ip(skb, ETH_HLEN + sizeof(ip6), &p) < 0) {
		mk_count(DIR_IN, MK_NOT_IPV4, 0);
		return TC_ACT_SHOT;
	}
	if (p.first) {
		drop = ce_for_me(skb, cfg, &p);
		if (drop == MK_PASS && !mk_same6((__u8 *)&ip6.saddr, cfg->br6))
			drop = ce_peer_ok(skb, &p, (__u8 *)&ip6.saddr);
		if (p.fragment)
			mk_frag_learn(&p, DIR_IN, drop, 0);
	} else {
		struct mk_frag *f = mk_frag_find(&p, DIR_IN);
		drop = f ? f->drop : MK_FRAGMENT_ORPHAN;
	}
	if (drop != MK_PASS) {
		mk_count(DIR_IN, drop, 0);
		return TC_ACT_SHOT;
	}
	__u32 len = skb->len - ETH_HLEN - sizeof(ip6);
	if (ce_translate(skb, &p, 0, TO_VIRTUAL) < 0 || mk_decap(skb) < 0) {
		mk_count(DIR_IN, MK_SEND_ERROR, 0);
		return TC_ACT_SHOT;
	}
	mk_count(DIR_IN, MK_PASS, len);
	return bpf_redirect(cfg->tun_ifindex, BPF_F_INGRESS);
}

char _license[] SEC("license") = "Dual MIT/GPL";

/* SPDX-License-Identifier: MIT */
/* mapekit's tc-BPF data plane: what the CE and the BR programs share.
 *
 * The maps and structures below are mirrored byte for byte by
 * src/mapekit/dataplane/bpfmaps.py (docs/dataplane.md, "Map layout"). Every
 * helper and flag used here exists in Linux 6.1 (Debian 12): no
 * BPF_F_ADJ_ROOM_DECAP_L3_* (6.3), no BPF_FIB_LOOKUP_SKIP_NEIGH (6.4).
 */
#ifndef MAPEKIT_H
#define MAPEKIT_H

#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#ifndef AF_INET6
#define AF_INET6 10
#endif

#define IPPROTO_IPIP_ 4
#define IP_MF 0x2000
#define IP_OFFSET 0x1fff
#define ICMP_ECHOREPLY_ 0
#define ICMP_UNREACH_ 3
#define ICMP_ECHO_ 8
#define ICMP_TIMXCEED_ 11
#define ICMP_PARAMPROB_ 12
#define FRAG_LIFETIME_NS (5ULL * 1000000000ULL)

/* drop reasons: the names of dataplane/checks.py's Drop, same order as bpfmaps.DROPS */
enum mk_drop {
	MK_PASS = 0,
	MK_NOT_IPV4 = 1,
	MK_WRONG_DESTINATION = 2,
	MK_PORT_OUTSIDE_SET = 3,
	MK_NO_PORT = 4,
	MK_SPOOFED_SOURCE = 5,
	MK_NO_RULE = 6,
	MK_FRAGMENT_ORPHAN = 7,
	MK_FRAGMENT_OVERFLOW = 8,
	MK_SEND_ERROR = 9,
	MK_TOO_BIG = 10, /* not a drop: left to the slow path (the TUN's queue) */
	MK_REASONS = 16,
};

/* counter slot = direction * MK_REASONS + reason (0: passed) */
#define MK_DIRECTIONS 4
#define MK_COUNTERS (MK_DIRECTIONS * MK_REASONS)

struct mk_count {
	__u64 packets;
	__u64 bytes;
};

/* one entry: what this CE or BR is */
struct mk_config {
	__u8 local6[16];   /* the CE's MAP address, or the BR address */
	__u8 br6[16];      /* CE: the BR */
	__u32 ipv4;        /* CE: its IPv4 address (network order) */
	__u32 ipv4_mask;   /* CE: the mask of its IPv4 address or prefix (network order) */
	__u32 tun_ifindex; /* the device IPv4 is routed into (and decapsulated packets enter) */
	__u32 wan_ifindex; /* CE: where encapsulated packets leave */
	__u16 psid;        /* CE: its PSID */
	__u8 psid_offset;  /* CE: a */
	__u8 psid_len;     /* CE: k (0: the whole port range is ours) */
	__u8 hop_limit;
	__u8 pad[3];
};

/* a rule: the BR's whole rule set, or the CE's forwarding rules (FMRs) */
struct mk_rule {
	__u8 prefix6[16]; /* Rule IPv6 prefix */
	__u32 prefix4;    /* Rule IPv4 prefix (host order) */
	__u8 len6;        /* n */
	__u8 len4;        /* r */
	__u8 ea_len;      /* o (n + o <= 64: checked when the map is filled) */
	__u8 psid_offset; /* a */
	__u8 psid_len;    /* k */
	__u8 legacy_iid;  /* 1: draft-03 interface id, 0: RFC 7597 */
	__u8 fixed_psid;  /* 1: the rule gives the PSID (psid) */
	__u8 pad;
	__u16 psid;
	__u16 pad2;
};

struct mk_rule_key {
	__u32 prefixlen;
	__u32 addr; /* network order */
};

struct mk_frag_key {
	__u32 src;
	__u32 dst;
	__u16 id;
	__u8 proto;
	__u8 dir;
};

struct mk_frag {
	__u64 expires;
	__u8 drop;
	__u8 has_peer;
	__u8 pad[6];
	__u8 peer[16];
};

#ifndef MK_FRAG_ENTRIES
#define MK_FRAG_ENTRIES 8192
#endif
#ifndef MK_RULE_ENTRIES
#define MK_RULE_ENTRIES 65536
#endif

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct mk_config);
} mk_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, MK_COUNTERS);
	__type(key, __u32);
	__type(value, struct mk_count);
} mk_counters SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, MK_RULE_ENTRIES);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct mk_rule_key);
	__type(value, struct mk_rule);
} mk_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, MK_FRAG_ENTRIES);
	__type(key, struct mk_frag_key);
	__type(value, struct mk_frag);
} mk_frags SEC(".maps");

static __always_inline struct mk_config *mk_cfg(void)
{
	__u32 zero = 0;
	return bpf_map_lookup_elem(&mk_config, &zero);
}

static __always_inline void mk_count(__u32 dir, __u32 reason, __u32 bytes)
{
	__u32 slot = dir * MK_REASONS + reason;
	struct mk_count *c = bpf_map_lookup_elem(&mk_counters, &slot);
	if (c) {
		c->packets += 1;
		c->bytes += bytes;
	}
}

static __always_inline int mk_same6(const __u8 *a, const __u8 *b)
{
	const __u64 *x = (const __u64 *)a, *y = (const __u64 *)b;
	return x[0] == y[0] && x[1] == y[1];
}

/* --- IPv4 packets: the fields the checks need ---------------------------------- */

struct mk_ip {
	__u32 src, dst; /* host order */
	__u32 off;      /* where the IPv4 header starts in the skb */
	__u32 l4;       /* where its payload starts */
	__u16 id, total;
	__u8 proto;
	__u8 first;     /* not a non-first fragment (it may carry ports) */
	__u8 fragment;  /* any fragment */
	__u8 pad;
};

static __always_inline int mk_parse_ip(struct __sk_buff *skb, __u32 off, struct mk_ip *p)
{
	struct iphdr ip;
	if (bpf_skb_load_bytes(skb, off, &ip, sizeof(ip)) < 0)
		return -1;
	if (ip.version != 4 || ip.ihl < 5)
		return -1;
	__u16 frag = bpf_ntohs(ip.frag_off);
	p->src = bpf_ntohl(ip.saddr);
	p->dst = bpf_ntohl(ip.daddr);
	p->off = off;
	p->l4 = off + ip.ihl * 4;
	p->id = bpf_ntohs(ip.id);
	p->total = bpf_ntohs(ip.tot_len);
	p->proto = ip.protocol;
	p->first = (frag & IP_OFFSET) == 0;
	p->fragment = (frag & (IP_OFFSET | IP_MF)) != 0;
	return 0;
}

/* Where the port that tells CEs apart on one side of the packet sits (RFC 7597 §8): the
 * TCP/UDP port, the ICMP echo identifier, or for an ICMP error the port on the other side
 * of the packet it quotes; *csum: the checksum covering it (for an ICMP error the ICMP
 * checksum: the quoted one is left as quoted), *flags: bpf_l4_csum_replace's for it.
 * 0 on success, -1 when there is none to see. */
static __always_inline int mk_port_at(struct __sk_buff *skb, struct mk_ip *p, int source,
				      __u32 *at, __u32 *csum, __u64 *flags)
{
	__u8 icmp[8];
	__u16 ports[2]; /* both ports must be there, as dataplane/packets.py asks */
	if (!p->first)
		return -1;
	if (p->proto == IPPROTO_TCP || p->proto == IPPROTO_UDP) {
		if (bpf_skb_load_bytes(skb, p->l4, ports, sizeof(ports)) < 0)
			return -1;
		*at = p->l4 + (source ? 0 : 2);
		*csum = p->l4 + (p->proto == IPPROTO_TCP ? 16 : 6);
		*flags = p->proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0;
		return 0;
	}
	if (p->proto != IPPROTO_ICMP)
		return -1;
	if (bpf_skb_load_bytes(skb, p->l4, icmp, sizeof(icmp)) < 0)
		return -1;
	*csum = p->l4 + 2;
	*flags = 0;
	if (icmp[0] == ICMP_ECHO_ || icmp[0] == ICMP_ECHOREPLY_) {
		*at = p->l4 + 4;
		return 0;
	}
	if (icmp[0] != ICMP_UNREACH_ && icmp[0] != ICMP_TIMXCEED_ && icmp[0] != ICMP_PARAMPROB_)
		return -1;
	/* the quoted packet went the other way: its source is our destination's side */
	struct mk_ip q;
	if (mk_parse_ip(skb, p->l4 + 8, &q) < 0 || !q.first)
		return -1;
	if (q.proto == IPPROTO_TCP || q.proto == IPPROTO_UDP) {
		if (bpf_skb_load_bytes(skb, q.l4, ports, sizeof(ports)) < 0)
			return -1;
		*at = q.l4 + (source ? 2 : 0);
		return 0;
	}
	if (q.proto == IPPROTO_ICMP) {
		if (bpf_skb_load_bytes(skb, q.l4, icmp, sizeof(icmp)) < 0)
			return -1;
		if (icmp[0] == ICMP_ECHO_ || icmp[0] == ICMP_ECHOREPLY_) {
			*at = q.l4 + 4;
			return 0;
		}
	}
	return -1;
}

/* The port that tells CEs apart on one side of the packet (mk_port_at): 0 on success,
 * -1 when there is none to see. */
static __always_inline int mk_port(struct __sk_buff *skb, struct mk_ip *p, int source, __u16 *port)
{
	__u32 at, csum;
	__u64 flags;
	__be16 raw;
	if (mk_port_at(skb, p, source, &at, &csum, &flags) < 0)
		return -1;
	if (bpf_skb_load_bytes(skb, at, &raw, sizeof(raw)) < 0)
		return -1;
	*port = bpf_ntohs(raw);
	return 0;
}

/* --- rules: the CE that owns an IPv4 address and port -------------------------- */

static __always_inline struct mk_rule *mk_rule_for(__u32 addr)
{
	struct mk_rule_key key = {.prefixlen = 32, .addr = bpf_htonl(addr)};
	return bpf_map_lookup_elem(&mk_rules, &key);
}

/* The CE address owning addr:port under rule r (core/mapping.py reverse_map), or a
 * drop reason. need_port: the packet has a port (port is valid). */
static __always_inline int mk_owner(const struct mk_rule *r, __u32 addr, __u16 port,
				    int has_port, __u8 *out)
{
	__u32 k = r->psid_len & 31, a = r->psid_offset & 15, o = r->ea_len & 63;
	__u32 p = 32 - (r->len4 & 31);
	__u64 psid = 0;
	if (k) {
		if (!has_port)
			return MK_NO_PORT;
		if (a && !(port >> (16 - a)))
			return MK_PORT_OUTSIDE_SET; /* A = 0 is in no port set */
		psid = (port >> ((16 - a - k) & 15)) & ((1U << k) - 1);
		if (r->fixed_psid && psid != r->psid)
			return MK_PORT_OUTSIDE_SET;
	}
	__u64 suffix = (__u64)addr & ((1ULL << p) - 1);
	__u64 ea, base4;
	if (o >= p) {
		__u32 kea = (o - p) & 63;
		ea = (suffix << kea) | (kea ? psid : 0);
		base4 = addr;
	} else {
		ea = suffix >> ((p - o) & 63);
		base4 = (__u64)addr & ~((1ULL << ((p - o) & 63)) - 1) & 0xffffffffULL;
	}
	__u64 hi = bpf_be64_to_cpu(*(const __u64 *)r->prefix6);
	hi |= ea << ((64 - (r->len6 & 127) - o) & 63);
	__u64 lo = r->legacy_iid ? (base4 << 24) | (psid << 8) : (base4 << 16) | psid;
	__u64 *dst = (__u64 *)out;
	dst[0] = bpf_cpu_to_be64(hi);
	dst[1] = bpf_cpu_to_be64(lo);
	return MK_PASS;
}

/* --- fragments: non-first fragments follow the decision on their first --------- */

static __always_inline void mk_frag_learn(struct mk_ip *p, __u8 dir, __u8 drop, const __u8 *peer)
{
	struct mk_frag_key key = {.src = p->src, .dst = p->dst, .id = p->id, .proto = p->proto,
				  .dir = dir};
	struct mk_frag value = {.expires = bpf_ktime_get_ns() + FRAG_LIFETIME_NS, .drop = drop};
	if (peer) {
		value.has_peer = 1;
		__builtin_memcpy(value.peer, peer, 16);
	}
	bpf_map_update_elem(&mk_frags, &key, &value, BPF_ANY);
}

static __always_inline struct mk_frag *mk_frag_find(struct mk_ip *p, __u8 dir)
{
	struct mk_frag_key key = {.src = p->src, .dst = p->dst, .id = p->id, .proto = p->proto,
				  .dir = dir};
	struct mk_frag *found = bpf_map_lookup_elem(&mk_frags, &key);
	if (found && found->expires < bpf_ktime_get_ns())
		return 0;
	return found;
}

/* --- encapsulation and decapsulation ------------------------------------------ */

/* IPv4 at offset 0 of an L3 device's skb → Ethernet + IPv6 (next header 4) + IPv4.
 * bpf_skb_change_head gives the L3 packet a (zeroed) MAC header so that it can be
 * redirected to an Ethernet device; bpf_skb_adjust_room then opens the tunnel header
 * after it (skb->protocol becomes IPv6, GSO packets keep their segment size: the
 * tunnel MTU already left room for the 40 bytes). */
static __always_inline int mk_encap(struct __sk_buff *skb, const __u8 *src, const __u8 *dst,
				    __u8 hop_limit)
{
	__u32 inner = skb->len;
	if (bpf_skb_change_head(skb, ETH_HLEN, 0) < 0)
		return -1;
	if (bpf_skb_adjust_room(skb, sizeof(struct ipv6hdr), BPF_ADJ_ROOM_MAC,
				BPF_F_ADJ_ROOM_ENCAP_L3_IPV6 | BPF_F_ADJ_ROOM_FIXED_GSO) < 0)
		return -1;
	struct ipv6hdr ip6 = {};
	ip6.version = 6;
	ip6.payload_len = bpf_htons(inner);
	ip6.nexthdr = IPPROTO_IPIP_;
	ip6.hop_limit = hop_limit;
	__builtin_memcpy(&ip6.saddr, src, 16);
	__builtin_memcpy(&ip6.daddr, dst, 16);
	__u16 proto = bpf_htons(ETH_P_IPV6);
	if (bpf_skb_store_bytes(skb, 12, &proto, 2, 0) < 0)
		return -1;
	if (bpf_skb_store_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6), 0) < 0)
		return -1;
	return 0;
}

/* Ethernet + IPv6 + IPv4 → Ethernet + IPv4 (skb->protocol IPv4) without the 6.3 DECAP
 * flags: bpf_skb_change_proto removes 20 bytes after the MAC header and sets the
 * protocol, bpf_skb_adjust_room removes the other 20. */
static __always_inline int mk_decap(struct __sk_buff *skb)
{
	if (bpf_skb_change_proto(skb, bpf_htons(ETH_P_IP), 0) < 0)
		return -1;
	if (bpf_skb_adjust_room(skb, -(__s32)(sizeof(struct ipv6hdr) - sizeof(struct iphdr)),
				BPF_ADJ_ROOM_MAC, BPF_F_ADJ_ROOM_FIXED_GSO) < 0)
		return -1;
	__u16 proto = bpf_htons(ETH_P_IP);
	bpf_skb_store_bytes(skb, 12, &proto, 2, 0);
	return 0;
}

/* The next hop towards dst, for bpf_redirect_neigh (no second route lookup there). */
struct mk_hop {
	__u32 ifindex;
	struct bpf_redir_neigh nh;
};

/* The device and next hop towards dst (the FIB, as the kernel would forward): 0 with
 * *hop set, MK_TOO_BIG when a tunnel packet of tot_len bytes would not fit (0: GSO,
 * checked per segment), MK_SEND_ERROR without a route. */
static __always_inline int mk_route6(struct __sk_buff *skb, __u32 from_ifindex, const __u8 *src,
				     const __u8 *dst, __u32 tot_len, struct mk_hop *hop)
{
	struct bpf_fib_lookup fib = {};
	fib.family = AF_INET6;
	fib.ifindex = from_ifindex;
	fib.tot_len = tot_len;
	__builtin_memcpy(fib.ipv6_src, src, 16);
	__builtin_memcpy(fib.ipv6_dst, dst, 16);
	long rc = bpf_fib_lookup(skb, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_FRAG_NEEDED)
		return MK_TOO_BIG;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS && rc != BPF_FIB_LKUP_RET_NO_NEIGH)
		return MK_SEND_ERROR;
	hop->ifindex = fib.ifindex;
	hop->nh.nh_family = AF_INET6;
	__builtin_memcpy(hop->nh.ipv6_nh, fib.ipv6_dst, 16); /* the gateway, or dst on-link */
	return MK_PASS;
}

#endif

// SPDX-License-Identifier: GPL-2.0
/* Hand-written examples/acl.wire: a transparent IPv4 firewall between port pairs (0<->1,
 * 2<->3) with a bogon filter. Same behaviour and map layouts as the generated program. */
#include "common.h"

struct bogon_key { __u32 prefixlen; __u32 src; };
struct action_only { __u32 action; __u32 counter; __u8 args[4]; };
struct acl_key { __u32 src; __u32 dst; __u16 sport; __u16 dport; __u8 proto; __u8 pad[3]; };
struct acl_value { __u64 rank; __u32 action; __u32 counter; __u8 args[8]; };
struct acl_rule {
	__u32 src_mask, src_lo, src_hi, dst_mask, dst_lo, dst_hi;
	__u16 sport_mask, sport_lo, sport_hi, dport_mask, dport_lo, dport_hi;
	__u8 proto_mask, proto_lo, proto_hi, pad;
	struct acl_value value;
};
struct acl_rules { __u32 count; __u32 pad; struct acl_rule r[256]; };

enum { BOGON_DROP = 1, BOGON_NOP };
enum { ACL_PERMIT = 1, ACL_DENY };

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct bogon_key);
	__type(value, struct action_only);
} bogon_sources_entries SEC(".maps");
DEFAULT_MAP(bogon_sources_default, struct action_only);
DEFAULT_MAP(acl_rules, struct acl_rules);
DEFAULT_MAP(acl_default, struct acl_value);
COUNTER_MAP(acl_counters, 257);

struct acl_search {
	struct acl_key key;
	__u32 action;
	__u32 counter;
	__u32 found;
};

static long acl_rule_matches(__u32 i, void *ctx)
{
	struct acl_search *s = ctx;
	__u32 zero = 0;
	struct acl_rules *rules = bpf_map_lookup_elem(&acl_rules, &zero);
	__u64 idx = i;

	if (!rules)
		return 1;
	asm volatile("" : "+r"(idx));
	struct acl_rule *r = &rules->r[idx & 255];
	__u32 src = s->key.src & r->src_mask, dst = s->key.dst & r->dst_mask;
	__u16 sport = s->key.sport & r->sport_mask, dport = s->key.dport & r->dport_mask;
	__u8 proto = s->key.proto & r->proto_mask;

	if (src < r->src_lo || src > r->src_hi || dst < r->dst_lo || dst > r->dst_hi ||
	    proto < r->proto_lo || proto > r->proto_hi || sport < r->sport_lo ||
	    sport > r->sport_hi || dport < r->dport_lo || dport > r->dport_hi)
		return 0;
	s->action = r->value.action;
	s->counter = r->value.counter;
	s->found = 1;
	return 1;
}

SEC("xdp.frags")
int acl(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ip_options opts;
	__u32 optlen, zero = 0;

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP)) {
		if (eth->h_proto == bpf_htons(ETH_P_ARP))
			return send(ctx, ingress_port(ctx) ^ 1);
		return XDP_DROP;
	}
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	if (ip_options(ctx, ip, data, data_end, &opts, &optlen))
		return XDP_DROP;
	void *l4 = (void *)(ip + 1) + optlen;
	struct acl_search as = { .key = { .src = bpf_ntohl(ip->saddr), .dst = bpf_ntohl(ip->daddr),
					  .proto = ip->protocol } };

	if (!(ip->frag_off & bpf_htons(0x1fff))) {
		if (ip->protocol == IPPROTO_TCP) {
			struct tcphdr *tcp = l4;

			if ((void *)(tcp + 1) > data_end)
				return XDP_DROP;
			as.key.sport = bpf_ntohs(tcp->source);
			as.key.dport = bpf_ntohs(tcp->dest);
		} else if (ip->protocol == IPPROTO_UDP) {
			struct udphdr *udp = l4;

			if ((void *)(udp + 1) > data_end)
				return XDP_DROP;
			as.key.sport = bpf_ntohs(udp->source);
			as.key.dport = bpf_ntohs(udp->dest);
		}
	}
	struct bogon_key bk = { .prefixlen = 32, .src = ip->saddr };

	if (bpf_map_lookup_elem(&bogon_sources_entries, &bk))
		return XDP_DROP; /* a hit returns before anything forwards the packet */
	struct acl_rules *rules = bpf_map_lookup_elem(&acl_rules, &zero);

	if (rules)
		bpf_loop(rules->count < 256 ? rules->count : 256, acl_rule_matches, &as, 0);
	if (!as.found) {
		struct acl_value *d = bpf_map_lookup_elem(&acl_default, &zero);

		if (!d)
			return XDP_DROP;
		as.action = d->action;
		as.counter = d->counter;
	}
	count(&acl_counters, as.counter, bpf_xdp_get_buff_len(ctx));
	if (as.action != ACL_PERMIT)
		return XDP_DROP;
	ip_checksum(ip, opts.w, optlen);
	return send(ctx, ingress_port(ctx) ^ 1);
}

char LICENSE[] SEC("license") = "GPL";

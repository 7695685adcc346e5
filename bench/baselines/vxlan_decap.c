// SPDX-License-Identifier: GPL-2.0
/* Hand-written examples/vxlan_decap.wire: VXLAN termination with a BUM filter and an L2
 * forwarding table. Same behaviour and map layouts as the generated program. */
#include "common.h"

struct vxlanhdr {
	__u8 flags;
	__u8 reserved[3];
	__u8 vni[3];
	__u8 reserved2;
};

struct local_vtep_key { __u32 dst; };
struct action_only { __u32 action; __u32 counter; __u8 args[4]; };
struct bum_value { __u64 rank; __u32 action; __u32 counter; __u8 args[8]; };
struct bum_rule { __u64 mask, lo, hi; struct bum_value value; };
struct bum_rules { __u32 count; __u32 pad; struct bum_rule r[8]; };
struct l2_key { __u64 mac; __u32 vni; __u32 pad; };
struct l2_value { __u32 action; __u32 counter; __u16 port; __u16 pad; };

enum { BUM_SEND_TO_HOST = 1, BUM_DROP, BUM_NOP };
enum { L2_BRIDGE = 1, L2_SEND_TO_HOST, L2_DROP };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct local_vtep_key);
	__type(value, struct action_only);
} local_vtep_entries SEC(".maps");
DEFAULT_MAP(local_vtep_default, struct action_only);
DEFAULT_MAP(bum_rules, struct bum_rules);
DEFAULT_MAP(bum_default, struct bum_value);
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct l2_key);
	__type(value, struct l2_value);
} l2_fwd_entries SEC(".maps");
DEFAULT_MAP(l2_fwd_default, struct l2_value);
COUNTER_MAP(l2_fwd_counters, 1025);

struct bum_search {
	__u64 mac;
	__u32 action;
	__u32 found;
};

static long bum_rule_matches(__u32 i, void *ctx)
{
	struct bum_search *s = ctx;
	__u32 zero = 0;
	struct bum_rules *rules = bpf_map_lookup_elem(&bum_rules, &zero);
	__u64 idx = i;

	if (!rules)
		return 1;
	asm volatile("" : "+r"(idx));
	struct bum_rule *r = &rules->r[idx & 7];
	__u64 v = s->mac & r->mask;

	if (v < r->lo || v > r->hi)
		return 0;
	s->action = r->value.action;
	s->found = 1;
	return 1;
}

SEC("xdp.frags")
int vxlan_decap(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ip_options opts;
	__u32 optlen, zero = 0, egress = DROP_PORT;
	__u64 len = bpf_xdp_get_buff_len(ctx);

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	if (ip_options(ctx, ip, data, data_end, &opts, &optlen))
		return XDP_DROP;
	if (ip->protocol != IPPROTO_UDP || (ip->frag_off & bpf_htons(0x3fff)))
		goto host;
	struct udphdr *udp = (void *)(ip + 1) + optlen;

	if ((void *)(udp + 1) > data_end)
		return XDP_DROP;
	if (udp->dest != bpf_htons(4789))
		goto host;
	struct vxlanhdr *vx = (void *)(udp + 1);
	struct ethhdr *in_eth = (void *)(vx + 1);

	if ((void *)(in_eth + 1) > data_end)
		return XDP_DROP;
	struct local_vtep_key lk = { .dst = bpf_ntohl(ip->daddr) };

	if (!bpf_map_lookup_elem(&local_vtep_entries, &lk))
		goto host;
	if (!(vx->flags & 0x08))
		return XDP_DROP;

	__u64 dst_mac = ((__u64)bpf_ntohs(*(__u16 *)in_eth->h_dest) << 32) |
			bpf_ntohl(*(__u32 *)(in_eth->h_dest + 2));
	struct bum_search bs = { .mac = dst_mac };
	struct bum_rules *rules = bpf_map_lookup_elem(&bum_rules, &zero);

	if (rules)
		bpf_loop(rules->count < 8 ? rules->count : 8, bum_rule_matches, &bs, 0);
	if (!bs.found) {
		struct bum_value *d = bpf_map_lookup_elem(&bum_default, &zero);

		if (!d)
			return XDP_DROP;
		bs.action = d->action;
	}
	if (bs.action == BUM_SEND_TO_HOST)
		egress = HOST_PORT;
	else if (bs.action == BUM_DROP)
		egress = DROP_PORT;
	if (bs.found)
		goto out;

	struct l2_key k = { .mac = dst_mac,
			    .vni = (vx->vni[0] << 16) | (vx->vni[1] << 8) | vx->vni[2] };
	struct l2_value *fwd = bpf_map_lookup_elem(&l2_fwd_entries, &k);

	if (!fwd) {
		fwd = bpf_map_lookup_elem(&l2_fwd_default, &zero);
		if (!fwd)
			return XDP_DROP;
	}
	count(&l2_fwd_counters, fwd->counter, len);
	switch (fwd->action) {
	case L2_BRIDGE:
		egress = fwd->port & 0x1ff;
		if (egress == DROP_PORT)
			return XDP_DROP;
		if (bpf_xdp_adjust_head(ctx, sizeof(*eth) + sizeof(*ip) + optlen + sizeof(*udp) +
					     sizeof(*vx)))
			return XDP_DROP;
		return send(ctx, egress);
	case L2_SEND_TO_HOST:
		egress = HOST_PORT;
		break;
	case L2_DROP:
		egress = DROP_PORT;
		break;
	}
out:
	if (egress == DROP_PORT)
		return XDP_DROP;
	ip_checksum(ip, opts.w, optlen);
	return send(ctx, egress);
host:
	ip_checksum(ip, opts.w, optlen);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

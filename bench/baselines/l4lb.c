// SPDX-License-Identifier: GPL-2.0
/* Hand-written examples/l4lb.wire: Maglev L4 load balancer, IP-in-IP to the chosen backend.
 * Same behaviour and map layouts as the generated program. */
#include "common.h"

struct vips_key { __u32 dst; __u16 dport; __u8 proto; __u8 pad; };
struct vips_value { __u32 action; __u32 counter; __u32 tunnel_src; __u8 vip_id; __u8 pad[3]; };
struct maglev_key { __u8 vip_id; __u8 bucket; };
struct maglev_value { __u32 action; __u32 counter; __u32 backend; };
struct routes_key { __u32 prefixlen; __u32 dst; };
struct routes_value {
	__u32 action; __u32 counter; __u64 src_mac; __u64 dst_mac; __u16 port; __u8 pad[6];
};

enum { VIPS_TO_VIP = 1, VIPS_SEND_TO_HOST };
enum { MAGLEV_TO_BACKEND = 1, MAGLEV_DROP };
enum { ROUTES_SET_NEXT_HOP = 1, ROUTES_DROP };

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct vips_key);
	__type(value, struct vips_value);
} vips_entries SEC(".maps");
DEFAULT_MAP(vips_default, struct vips_value);
COUNTER_MAP(vips_counters, 65);
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct maglev_key);
	__type(value, struct maglev_value);
} maglev_entries SEC(".maps");
DEFAULT_MAP(maglev_default, struct maglev_value);
struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct routes_key);
	__type(value, struct routes_value);
} routes_entries SEC(".maps");
DEFAULT_MAP(routes_default, struct routes_value);
COUNTER_MAP(routes_counters, 65);
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 256);
	__type(key, __u32);
	__type(value, __u32);
} reg_vip_packets SEC(".maps");

static const __u32 crc32_table[256] = {
#include "crc32_table.h"
};

static __always_inline void set_mac(unsigned char *m, __u64 v)
{
	*(__u16 *)m = bpf_htons(v >> 32);
	*(__u32 *)(m + 2) = bpf_htonl((__u32)v);
}

SEC("xdp.frags")
int l4lb(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ip_options opts;
	__u32 optlen, zero = 0;
	__u16 sport = 0, dport = 0;
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
	void *l4 = (void *)(ip + 1) + optlen;

	if (!(ip->frag_off & bpf_htons(0x1fff))) {
		if (ip->protocol == IPPROTO_TCP) {
			struct tcphdr *tcp = l4;

			if ((void *)(tcp + 1) > data_end)
				return XDP_DROP;
			sport = bpf_ntohs(tcp->source);
			dport = bpf_ntohs(tcp->dest);
		} else if (ip->protocol == IPPROTO_UDP) {
			struct udphdr *udp = l4;

			if ((void *)(udp + 1) > data_end)
				return XDP_DROP;
			sport = bpf_ntohs(udp->source);
			dport = bpf_ntohs(udp->dest);
		}
	}
	if (ip->frag_off & bpf_htons(0x3fff))
		goto host;
	struct vips_key vk = { .dst = bpf_ntohl(ip->daddr), .dport = dport, .proto = ip->protocol };
	struct vips_value *vip = bpf_map_lookup_elem(&vips_entries, &vk);
	__u8 vip_id = 0;
	__u32 tunnel_src = 0;

	if (!vip) {
		vip = bpf_map_lookup_elem(&vips_default, &zero);
		if (!vip)
			return XDP_DROP;
		count(&vips_counters, vip->counter, len);
		if (vip->action == VIPS_SEND_TO_HOST)
			goto host;
		return XDP_DROP;
	}
	count(&vips_counters, vip->counter, len);
	if (vip->action == VIPS_TO_VIP) {
		vip_id = vip->vip_id;
		tunnel_src = vip->tunnel_src;
	}
	if (ip->ttl <= 1)
		goto host;

	__u8 five[13];
	__u32 crc = 0xffffffff;

	*(__u32 *)five = ip->saddr;
	*(__u32 *)(five + 4) = ip->daddr;
	five[8] = ip->protocol;
	five[9] = sport >> 8;
	five[10] = sport;
	five[11] = dport >> 8;
	five[12] = dport;
#pragma unroll
	for (int i = 0; i < 13; i++)
		crc = (crc >> 8) ^ crc32_table[(crc ^ five[i]) & 0xff];
	crc = ~crc;
	struct maglev_key mk = { .vip_id = vip_id, .bucket = crc & 0xff };
	struct maglev_value *be = bpf_map_lookup_elem(&maglev_entries, &mk);

	if (!be) {
		be = bpf_map_lookup_elem(&maglev_default, &zero);
		if (!be)
			return XDP_DROP;
	}
	if (be->action != MAGLEV_TO_BACKEND)
		return XDP_DROP;
	struct iphdr tunnel = {
		.version = 4, .ihl = 5, .tos = ip->tos,
		.tot_len = bpf_htons(bpf_ntohs(ip->tot_len) + 20), .frag_off = bpf_htons(0x4000),
		.ttl = 64, .protocol = IPPROTO_IPIP, .saddr = bpf_htonl(tunnel_src),
		.daddr = bpf_htonl(be->backend),
	};
	ip->ttl--;
	__u32 idx = vip_id;
	__u32 *packets = bpf_map_lookup_elem(&reg_vip_packets, &idx);

	if (packets)
		*packets += 1;
	struct routes_key rk = { .prefixlen = 32, .dst = tunnel.daddr };
	struct routes_value *rt = bpf_map_lookup_elem(&routes_entries, &rk);

	if (!rt) {
		rt = bpf_map_lookup_elem(&routes_default, &zero);
		if (!rt)
			return XDP_DROP;
	}
	count(&routes_counters, rt->counter, len);
	if (rt->action != ROUTES_SET_NEXT_HOP)
		return XDP_DROP;
	__u32 port = rt->port & 0x1ff;

	if (port == DROP_PORT)
		return XDP_DROP;
	struct ethhdr out_eth = *eth;

	set_mac(out_eth.h_source, rt->src_mac);
	set_mac(out_eth.h_dest, rt->dst_mac);
	ip_checksum(ip, opts.w, optlen);
	ip_checksum(&tunnel, NULL, 0);
	/* the tunnel goes between the Ethernet header and the client's packet */
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)eth + sizeof(struct ethhdr) + sizeof(struct iphdr) > data_end)
		return XDP_ABORTED;
	*eth = out_eth;
	*(struct iphdr *)(eth + 1) = tunnel;
	return send(ctx, port);
host:
	ip_checksum(ip, opts.w, optlen);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

// SPDX-License-Identifier: GPL-2.0
/* Hand-written examples/gateway.wire: VXLAN termination, ACL, Maglev load balancing with
 * IP-in-IP to the backend, routing. Same behaviour and map layouts as the generated program. */
#include "common.h"

struct vxlanhdr {
	__u8 flags;
	__u8 reserved[3];
	__u8 vni[3];
	__u8 reserved2;
};

struct local_vtep_key { __u32 dst; };
struct action_only { __u32 action; __u32 counter; __u8 args[4]; };
struct vtep_key { __u64 mac; __u32 vni; __u32 pad; };
struct vtep_value { __u32 action; __u32 counter; __u16 port; __u16 pad; };
struct acl_key { __u32 src; __u32 dst; __u16 sport; __u16 dport; __u8 proto; __u8 pad[3]; };
struct acl_value { __u64 rank; __u32 action; __u32 counter; __u8 args[8]; };
struct acl_rule {
	__u32 src_mask, src_lo, src_hi, dst_mask, dst_lo, dst_hi;
	__u16 sport_mask, sport_lo, sport_hi, dport_mask, dport_lo, dport_hi;
	__u8 proto_mask, proto_lo, proto_hi, pad;
	struct acl_value value;
};
struct acl_rules { __u32 count; __u32 pad; struct acl_rule r[256]; };
struct vips_key { __u32 dst; __u16 dport; __u8 proto; __u8 pad; };
struct vips_value { __u32 action; __u32 counter; __u32 tunnel_src; __u8 vip_id; __u8 pad[3]; };
struct maglev_key { __u8 vip_id; __u8 bucket; };
struct maglev_value { __u32 action; __u32 counter; __u32 backend; };
struct routes_key { __u32 prefixlen; __u32 dst; };
struct routes_value {
	__u32 action; __u32 counter; __u64 src_mac; __u64 dst_mac; __u16 port; __u8 pad[6];
};

enum { VTEP_BRIDGE = 1, VTEP_TO_GATEWAY, VTEP_SEND_TO_HOST };
enum { ACL_PERMIT = 1, ACL_DENY };
enum { VIPS_TO_VIP = 1, VIPS_NOP };
enum { MAGLEV_TO_BACKEND = 1, MAGLEV_DROP };
enum { ROUTES_SET_NEXT_HOP = 1, ROUTES_DROP };

#define HASH_MAP(name, k, v, n) \
	struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, n); \
		 __type(key, k); __type(value, v); } name SEC(".maps")

HASH_MAP(local_vtep_entries, struct local_vtep_key, struct action_only, 16);
DEFAULT_MAP(local_vtep_default, struct action_only);
HASH_MAP(vtep_entries, struct vtep_key, struct vtep_value, 1024);
DEFAULT_MAP(vtep_default, struct vtep_value);
COUNTER_MAP(vtep_counters, 1025);
DEFAULT_MAP(acl_rules, struct acl_rules);
DEFAULT_MAP(acl_default, struct acl_value);
COUNTER_MAP(acl_counters, 257);
HASH_MAP(vips_entries, struct vips_key, struct vips_value, 64);
DEFAULT_MAP(vips_default, struct vips_value);
COUNTER_MAP(vips_counters, 65);
HASH_MAP(maglev_entries, struct maglev_key, struct maglev_value, 1024);
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

struct acl_search {
	struct acl_key key;
	struct acl_value best;
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
	s->best = r->value;
	s->found = 1;
	return 1;
}

static __always_inline __u64 mac(const unsigned char *m)
{
	return ((__u64)bpf_ntohs(*(__u16 *)m) << 32) | bpf_ntohl(*(__u32 *)(m + 2));
}

static __always_inline void set_mac(unsigned char *m, __u64 v)
{
	*(__u16 *)m = bpf_htons(v >> 32);
	*(__u32 *)(m + 2) = bpf_htonl((__u32)v);
}

SEC("xdp.frags")
int gateway(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct ip_options outer_opts, inner_opts;
	__u32 outer_optlen, inner_optlen = 0, zero = 0;
	__u64 len = bpf_xdp_get_buff_len(ctx);

	if ((void *)(eth + 1) > data_end)
		return XDP_DROP;
	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	struct iphdr *ip = (void *)(eth + 1);

	if ((void *)(ip + 1) > data_end)
		return XDP_DROP;
	if (ip_options(ctx, ip, data, data_end, &outer_opts, &outer_optlen))
		return XDP_DROP;
	/* whole UDP datagrams only: protocol 17, MF clear, offset 0 */
	if (ip->protocol != IPPROTO_UDP || (ip->frag_off & bpf_htons(0x3fff)))
		goto host_outer;
	struct udphdr *udp = (void *)(ip + 1) + outer_optlen;

	if ((void *)(udp + 1) > data_end)
		return XDP_DROP;
	if (udp->dest != bpf_htons(4789))
		goto host_outer;
	struct vxlanhdr *vx = (void *)(udp + 1);
	struct ethhdr *in_eth = (void *)(vx + 1);

	if ((void *)(in_eth + 1) > data_end)
		return XDP_DROP;
	struct iphdr *in_ip = (void *)(in_eth + 1);
	void *l4 = NULL;
	int in_valid = 0, tcp_valid = 0, udp_valid = 0;

	if (in_eth->h_proto == bpf_htons(ETH_P_IP)) {
		if ((void *)(in_ip + 1) > data_end)
			return XDP_DROP;
		if (ip_options(ctx, in_ip, data, data_end, &inner_opts, &inner_optlen))
			return XDP_DROP;
		in_valid = 1;
		l4 = (void *)(in_ip + 1) + inner_optlen;
		if (!(in_ip->frag_off & bpf_htons(0x1fff))) {
			if (in_ip->protocol == IPPROTO_TCP) {
				if (l4 + sizeof(struct tcphdr) > data_end)
					return XDP_DROP;
				tcp_valid = 1;
			} else if (in_ip->protocol == IPPROTO_UDP) {
				if (l4 + sizeof(struct udphdr) > data_end)
					return XDP_DROP;
				udp_valid = 1;
			}
		}
	}

	/* 1. VXLAN termination */
	struct local_vtep_key lk = { .dst = bpf_ntohl(ip->daddr) };

	if (!bpf_map_lookup_elem(&local_vtep_entries, &lk))
		goto host_both;
	if (!(vx->flags & 0x08))
		return XDP_DROP;
	struct vtep_key vk = { .mac = mac(in_eth->h_dest),
			       .vni = (vx->vni[0] << 16) | (vx->vni[1] << 8) | vx->vni[2] };
	struct vtep_value *vt = bpf_map_lookup_elem(&vtep_entries, &vk);

	if (!vt) {
		vt = bpf_map_lookup_elem(&vtep_default, &zero);
		if (!vt)
			return XDP_DROP;
	}
	count(&vtep_counters, vt->counter, len);
	__u32 decap_len = sizeof(*eth) + sizeof(*ip) + outer_optlen + sizeof(*udp) + sizeof(*vx);

	if (vt->action == VTEP_BRIDGE) {
		__u32 port = vt->port & 0x1ff;

		if (port == DROP_PORT)
			return XDP_DROP;
		if (in_valid)
			ip_checksum(in_ip, inner_opts.w, inner_optlen);
		if (bpf_xdp_adjust_head(ctx, decap_len))
			return XDP_ABORTED;
		return send(ctx, port);
	}
	if (vt->action != VTEP_TO_GATEWAY)
		goto host_both;

	/* 2. route whole IPv4 packets with some TTL left */
	if (!in_valid || (in_ip->frag_off & bpf_htons(0x3fff)) || in_ip->ttl <= 1)
		goto host_both;
	in_ip->ttl--;
	struct acl_search as = { .key = {
		.src = bpf_ntohl(in_ip->saddr), .dst = bpf_ntohl(in_ip->daddr),
		.proto = in_ip->protocol } };

	if (tcp_valid) {
		as.key.sport = bpf_ntohs(((struct tcphdr *)l4)->source);
		as.key.dport = bpf_ntohs(((struct tcphdr *)l4)->dest);
	} else if (udp_valid) {
		as.key.sport = bpf_ntohs(((struct udphdr *)l4)->source);
		as.key.dport = bpf_ntohs(((struct udphdr *)l4)->dest);
	}
	struct acl_rules *rules = bpf_map_lookup_elem(&acl_rules, &zero);

	if (rules)
		bpf_loop(rules->count < 256 ? rules->count : 256, acl_rule_matches, &as, 0);
	struct acl_value *acl = &as.best;

	if (!as.found) {
		acl = bpf_map_lookup_elem(&acl_default, &zero);
		if (!acl)
			return XDP_DROP;
	}
	count(&acl_counters, acl->counter, len);
	if (acl->action != ACL_PERMIT)
		return XDP_DROP;

	/* 3. load balancing */
	__u32 route_to = as.key.dst;
	struct iphdr tunnel;
	int tunnel_valid = 0;
	struct vips_key pk = { .dst = as.key.dst, .dport = as.key.dport, .proto = as.key.proto };
	struct vips_value *vip = bpf_map_lookup_elem(&vips_entries, &pk);

	if (!vip) {
		vip = bpf_map_lookup_elem(&vips_default, &zero);
		if (!vip)
			return XDP_DROP;
		count(&vips_counters, vip->counter, len);
	} else {
		count(&vips_counters, vip->counter, len);
		__u8 vip_id = 0;
		__u32 tunnel_src = 0;

		if (vip->action == VIPS_TO_VIP) {
			vip_id = vip->vip_id;
			tunnel_src = vip->tunnel_src;
		}
		/* crc32 of src, dst, protocol, ports: 13 bytes, big-endian */
		__u8 five[13];
		__u32 crc = 0xffffffff;

		*(__u32 *)five = in_ip->saddr;
		*(__u32 *)(five + 4) = in_ip->daddr;
		five[8] = in_ip->protocol;
		five[9] = as.key.sport >> 8;
		five[10] = as.key.sport;
		five[11] = as.key.dport >> 8;
		five[12] = as.key.dport;
#pragma unroll
		for (int i = 0; i < 13; i++)
			crc = (crc >> 8) ^ crc32_table[(crc ^ five[i]) & 0xff];
		crc = ~crc;
		struct maglev_key mk = { .vip_id = vip_id, .bucket = crc & 0xff };
		struct maglev_value *be = bpf_map_lookup_elem(&maglev_entries, &mk);

		if (!be)
			return XDP_DROP; /* the default runs, then return: nothing forwarded it */
		if (be->action == MAGLEV_TO_BACKEND) {
			__builtin_memset(&tunnel, 0, sizeof(tunnel));
			tunnel.version = 4;
			tunnel.ihl = 5;
			tunnel.tos = in_ip->tos;
			tunnel.tot_len = bpf_htons(bpf_ntohs(in_ip->tot_len) + 20);
			tunnel.frag_off = bpf_htons(0x4000);
			tunnel.ttl = 64;
			tunnel.protocol = IPPROTO_IPIP;
			tunnel.saddr = bpf_htonl(tunnel_src);
			tunnel.daddr = bpf_htonl(be->backend);
			tunnel_valid = 1;
			route_to = be->backend;
		}
		__u32 idx = vip_id;
		__u32 *packets = bpf_map_lookup_elem(&reg_vip_packets, &idx);

		if (packets)
			*packets += 1;
	}

	/* 4. routing */
	struct routes_key rk = { .prefixlen = 32, .dst = bpf_htonl(route_to) };
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
	set_mac(in_eth->h_source, rt->src_mac);
	set_mac(in_eth->h_dest, rt->dst_mac);
	ip_checksum(in_ip, inner_opts.w, inner_optlen);

	/* the outer headers go; the tenant's Ethernet header (and the tunnel) go in front */
	struct ethhdr out_eth = *in_eth;
	__u32 front = tunnel_valid ? sizeof(struct ethhdr) + sizeof(struct iphdr)
				   : sizeof(struct ethhdr);

	if (bpf_xdp_adjust_head(ctx, decap_len + sizeof(struct ethhdr) - front))
		return XDP_ABORTED;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)eth + sizeof(struct ethhdr) + sizeof(struct iphdr) > data_end)
		return XDP_ABORTED;
	*eth = out_eth;
	if (tunnel_valid) {
		ip_checksum(&tunnel, NULL, 0);
		*(struct iphdr *)(eth + 1) = tunnel;
	}
	return send(ctx, port);

host_both:
	if (in_valid)
		ip_checksum(in_ip, inner_opts.w, inner_optlen);
host_outer:
	ip_checksum(ip, outer_opts.w, outer_optlen);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

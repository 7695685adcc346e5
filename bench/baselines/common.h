/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the hand-written baselines share. They are written the way one would write each
 * program directly in C: packet structs through pointers, constants for everything known at
 * build time. To be comparable they keep the same observable behaviour as the .wire example
 * (checked packet by packet by bench/xdp_bench.py) and the same map layouts, so one control
 * plane fills both: entries are hash/LPM maps keyed as in the generated code, a table's
 * default action can be changed at run time, and counters count packets and bytes.
 */
#ifndef WIRESPEED_BASELINE_COMMON_H
#define WIRESPEED_BASELINE_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define DROP_PORT 511
#define HOST_PORT 510

struct counter {
	__u64 packets;
	__u64 bytes;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u32);
} ports_in SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_DEVMAP);
	__uint(max_entries, 512);
	__type(key, __u32);
	__type(value, __u32);
} ports_out SEC(".maps");

#define DEFAULT_MAP(name, value_type)                  \
	struct {                                       \
		__uint(type, BPF_MAP_TYPE_ARRAY);      \
		__uint(max_entries, 1);                \
		__type(key, __u32);                    \
		__type(value, value_type);             \
	} name SEC(".maps")

#define COUNTER_MAP(name, slots)                       \
	struct {                                       \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);\
		__uint(max_entries, slots);            \
		__type(key, __u32);                    \
		__type(value, struct counter);         \
	} name SEC(".maps")

static __always_inline void count(void *map, __u32 slot, __u64 bytes)
{
	struct counter *c = bpf_map_lookup_elem(map, &slot);

	if (c) {
		c->packets++;
		c->bytes += bytes;
	}
}

/* RFC 791 checksum of a 20-byte header plus its options (already bounds-checked) */
static __always_inline void ip_checksum(struct iphdr *ip, const __u32 *opts, __u32 optlen)
{
	const __u32 *w = (const __u32 *)ip;
	__u64 sum;

	ip->check = 0;
	sum = (__u64)w[0] + w[1] + w[2] + w[3] + w[4];
	if (optlen) {
#pragma unroll
		for (int i = 0; i < 10; i++)
			sum += opts[i];
	}
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	ip->check = (__u16)~sum;
}

static __always_inline __u32 ingress_port(struct xdp_md *ctx)
{
	__u32 ifindex = ctx->ingress_ifindex;
	__u32 *port = bpf_map_lookup_elem(&ports_in, &ifindex);

	return port ? *port : 0;
}

static __always_inline int send(struct xdp_md *ctx, __u32 port)
{
	if (port == DROP_PORT)
		return XDP_DROP;
	if (port == HOST_PORT)
		return XDP_PASS;
	if (port == ingress_port(ctx))
		return XDP_TX;
	return bpf_redirect_map(&ports_out, port, XDP_DROP);
}

/* IPv4 options, kept zero-padded so the checksum can add all ten words */
struct ip_options {
	__u32 w[10];
};

/* parse the options of an IPv4 header; -1: malformed (the packet is dropped) */
static __always_inline int ip_options(struct xdp_md *ctx, struct iphdr *ip, void *data,
				      void *data_end, struct ip_options *o, __u32 *optlen)
{
	__u32 len = ip->ihl * 4;

	if (len < 20)
		return -1;
	len -= 20;
	*optlen = len;
	if (!len)
		return 0;
	if ((void *)(ip + 1) + len > data_end)
		return -1;
	__builtin_memset(o, 0, sizeof(*o));
	__u64 n = len;

	asm volatile("" : "+r"(n));
	n = ((n - 1) & 63) + 1;
	if (n > 40)
		return -1;
	return bpf_xdp_load_bytes(ctx, (void *)(ip + 1) - data, o, n) ? -1 : 0;
}

#endif

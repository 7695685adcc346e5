// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark harness, not a baseline: BPF_PROG_TEST_RUN with a repeat count runs the program
 * again and again on the same buffer, so a program that decapsulates would see its own
 * output the second time round. This harness puts the original packet back (moving the head
 * to where it was and copying the bytes from `original`) and then tail-calls the program under
 * test, so every repetition measures the same packet. Its own cost is measured by tail-calling
 * `empty` and reported next to the figures.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#define MAX_PACKET 512

struct packet_bytes {
	__u32 len;
	__u8 data[MAX_PACKET];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct packet_bytes);
} original SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} under_test SEC(".maps");

SEC("xdp.frags")
int harness(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct packet_bytes *orig = bpf_map_lookup_elem(&original, &zero);
	long len = (long)ctx->data_end - (long)ctx->data;

	if (!orig)
		return XDP_ABORTED;
	/* the programs only move the head: the tail is where it was */
	if (len != orig->len && bpf_xdp_adjust_head(ctx, (int)(len - (long)orig->len)))
		return XDP_ABORTED;
	__u32 n = orig->len;

	asm volatile("" : "+r"(n));
	n = ((n - 1) & (MAX_PACKET - 1)) + 1;
	if (bpf_xdp_store_bytes(ctx, 0, orig->data, n))
		return XDP_ABORTED;
	bpf_tail_call(ctx, &under_test, 0);
	return XDP_ABORTED;
}

SEC("xdp.frags")
int empty(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";

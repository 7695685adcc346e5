// A native Verilator testbench for wirespeed_top: the same steps as the cocotb bench
// (sim/cocotb/tb.py), read from a file, without a Python call per clock.
//
// Input (text, one item per line):
//   seed S idle P backpressure Q
//   W ADDR DATA            control-port write (hex)
//   R ADDR                 control-port read (hex)
//   P N                    a burst of N packets; N lines follow: TAG PORT HEXBYTES ("-" = empty)
//   E                      end of a step (writes and reads are grouped into steps by E)
// Output: one block per step:
//   W                      a write step done
//   R V1 V2 ...            the values read (hex)
//   P CYCLES IN_BEATS OUT_BEATS FIRST_IN LAST_IN FIRST_OUT LAST_OUT (clocks, -1: none)
//                          then one line per output packet: O TAG PORT HEXBYTES, then .
//   ! MESSAGE              a protocol error (the run stops)
// Handshakes are decided after the design settles with the clock low, and new inputs are
// driven just after the rising edge, as in the cocotb bench.

#include "Vtop.h"
#include "verilated.h"

#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#ifndef WIDTH
#define WIDTH 64
#endif
static const int LANES = WIDTH / 8;

struct Rng {  // xorshift64*: reproducible from the seed, fast
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ULL + 1) {}
    double next() {
        s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
        return double((s * 0x2545F4914F6CDD1DULL) >> 11) / double(1ULL << 53);
    }
};

// data ports: QData up to 64 bits, VlWide words above
#if WIDTH <= 64
static void set_data(Vtop* t, const uint8_t* b, int n) {
    uint64_t v = 0;
    for (int i = 0; i < n; i++) v |= uint64_t(b[i]) << (8 * i);
    t->in_data = v;
}
static void get_data(Vtop* t, uint8_t* b) {
    uint64_t v = t->out_data;
    for (int i = 0; i < LANES; i++) b[i] = uint8_t(v >> (8 * i));
}
#else
static void set_data(Vtop* t, const uint8_t* b, int n) {
    for (int w = 0; w < WIDTH / 32; w++) {
        uint32_t v = 0;
        for (int k = 0; k < 4; k++) {
            int i = 4 * w + k;
            if (i < n) v |= uint32_t(b[i]) << (8 * k);
        }
        t->in_data[w] = v;
    }
}
static void get_data(Vtop* t, uint8_t* b) {
    for (int w = 0; w < WIDTH / 32; w++)
        for (int k = 0; k < 4; k++) b[4 * w + k] = uint8_t(t->out_data[w] >> (8 * k));
}
#endif

#if LANES <= 64
static uint64_t keep_of(Vtop* t) { return uint64_t(t->out_keep); }
static void set_keep(Vtop* t, int n) { t->in_keep = n >= 64 ? ~0ULL : ((1ULL << n) - 1); }
#endif

struct Beat { std::vector<uint8_t> bytes; bool first, last; int port, tag; };
struct OutPacket { int tag, port; std::string hex; };

static VerilatedContext* ctx;
static Vtop* top;
static uint64_t cycle = 0;
static std::vector<std::string> errors;

static void half(int clk) { top->clk = clk; top->eval(); }
static void tick() { half(1); cycle++; }  // rising edge (inputs as driven before it)

static const char HEX[] = "0123456789abcdef";

static bool request(uint32_t addr, uint32_t data, bool write, uint32_t* out) {
    top->ctl_addr = addr; top->ctl_wdata = data;
    if (write) top->ctl_write = 1; else top->ctl_read = 1;
    half(0); tick();
    top->ctl_write = 0; top->ctl_read = 0;
    for (int i = 0; i < 64; i++) {
        half(0);
        if (top->ctl_ack) { *out = top->ctl_rdata; tick(); return true; }
        tick();
    }
    errors.push_back("no ack from the control port");
    return false;
}

static bool run_packets(std::vector<Beat>& beats, Rng& rng, double idle, double bp,
                        uint64_t max_cycles, std::vector<OutPacket>& outs,
                        uint64_t& cycles, uint64_t& in_beats, uint64_t& out_beats,
                        int64_t* marks) {  // first in, last in, first out, last out
    size_t index = 0;
    bool driving = false, ready = true, inside = false;
    int quiet = 0;
    uint64_t start = cycle;
    std::vector<uint8_t> buf(LANES);
    in_beats = out_beats = 0;
    for (int k = 0; k < 4; k++) marks[k] = -1;
    while (true) {
        half(0);
        if (cycle - start > max_cycles) {
            errors.push_back("the pipeline did not finish within its cycle budget");
            return false;
        }
        int64_t now = int64_t(cycle - start);
        if (driving && top->in_ready) {
            index++; in_beats++;
            if (marks[0] < 0) marks[0] = now;
            marks[1] = now;
        }
        if (ready && top->out_valid) {
            out_beats++;
            if (marks[2] < 0) marks[2] = now;
            marks[3] = now;
            uint64_t keep = keep_of(top);
            int count = 0;
            while (count < 64 && (keep >> count & 1)) count++;
            if (count < 64 && keep != ((1ULL << count) - 1)) errors.push_back("keep not contiguous");
            bool first = top->out_first, last = top->out_last;
            if (first == inside) errors.push_back("first flag wrong");
            if (!inside) outs.push_back({int(top->out_tag), int(top->out_port), ""});
            else if (outs.back().tag != int(top->out_tag)) errors.push_back("tag changed in a packet");
            if (count < LANES && !last) errors.push_back("partial beat before the last");
            get_data(top, buf.data());
            for (int i = 0; i < count; i++) {
                outs.back().hex += HEX[buf[i] >> 4];
                outs.back().hex += HEX[buf[i] & 15];
            }
            inside = !last;
        }
        bool busy = top->busy || top->out_valid;
        quiet = (index == beats.size() && !busy) ? quiet + 1 : 0;
        if (quiet > 4) break;
        tick();
        driving = index < beats.size() && rng.next() >= idle;
        top->in_valid = driving;
        if (index < beats.size()) {
            Beat& b = beats[index];
            set_data(top, b.bytes.data(), int(b.bytes.size()));
            set_keep(top, int(b.bytes.size()));
            top->in_first = b.first; top->in_last = b.last;
            top->in_port = b.port; top->in_tag = b.tag;
        }
        ready = rng.next() >= bp;
        top->out_ready = ready;
    }
    top->in_valid = 0; top->out_ready = 1;
    if (inside) errors.push_back("an output packet has no last beat");
    cycles = cycle - start;
    return true;
}

static std::vector<uint8_t> unhex(const std::string& s) {
    std::vector<uint8_t> out;
    if (s == "-") return out;
    for (size_t i = 0; i + 1 < s.size(); i += 2)
        out.push_back(uint8_t(std::stoi(s.substr(i, 2), nullptr, 16)));
    return out;
}

int main(int argc, char** argv) {
    if (argc != 3) { std::fprintf(stderr, "usage: harness SCRIPT RESULTS\n"); return 2; }
    std::ifstream in(argv[1]);
    std::ofstream out(argv[2]);
    ctx = new VerilatedContext;
    top = new Vtop{ctx};
    std::string word;
    uint64_t seed; double idle, bp;
    in >> word >> seed >> word >> idle >> word >> bp;
    Rng rng(seed);
    top->out_ready = 1; top->rst = 1;
    for (int i = 0; i < 3; i++) { half(0); tick(); }
    top->rst = 0; half(0); tick();

    std::vector<uint32_t> reads;
    bool wrote = false;
    while (in >> word) {
        if (word == "W") {
            uint32_t a, d, ignored;
            in >> std::hex >> a >> d >> std::dec;
            if (!request(a, d, true, &ignored)) break;
            wrote = true;
        } else if (word == "R") {
            uint32_t a, v = 0;
            in >> std::hex >> a >> std::dec;
            if (!request(a, 0, false, &v)) break;
            reads.push_back(v);
        } else if (word == "E") {
            if (wrote) out << "W\n";
            else {
                out << "R";
                for (uint32_t v : reads) out << " " << std::hex << v << std::dec;
                out << "\n";
            }
            wrote = false; reads.clear();
        } else if (word == "P") {
            size_t n; in >> n;
            std::vector<Beat> beats;
            for (size_t k = 0; k < n; k++) {
                int tag, port; std::string hex;
                in >> tag >> port >> hex;
                std::vector<uint8_t> data = unhex(hex);
                size_t chunks = data.empty() ? 1 : (data.size() + LANES - 1) / LANES;
                for (size_t c = 0; c < chunks; c++) {
                    size_t lo = c * LANES, hi = std::min(data.size(), lo + LANES);
                    Beat b{std::vector<uint8_t>(data.begin() + std::min(lo, data.size()),
                                                data.begin() + hi),
                           c == 0, c == chunks - 1, port, tag};
                    beats.push_back(b);
                }
            }
            std::vector<OutPacket> outs;
            uint64_t cycles = 0, ib = 0, ob = 0;
            int64_t marks[4];
            bool ok = run_packets(beats, rng, idle, bp, 2000 + 40 * beats.size(), outs,
                                  cycles, ib, ob, marks);
            out << "P " << cycles << " " << ib << " " << ob;
            for (int k = 0; k < 4; k++) out << " " << marks[k];
            out << "\n";
            for (auto& o : outs) out << "O " << o.tag << " " << o.port << " "
                                     << (o.hex.empty() ? "-" : o.hex) << "\n";
            out << ".\n";
            if (!ok) break;
        }
        if (!errors.empty()) break;
    }
    for (auto& e : errors) out << "! " << e << "\n";
    top->final();
    delete top;
    delete ctx;
    return 0;
}

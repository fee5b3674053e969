// Classic BPF socket filters for the L2 announcer's AF_PACKET sockets (SO_ATTACH_FILTER), so the
// kernel drops every frame the announcer would ignore before it is copied to JavaScript:
//   ARP: requests only (opcode 1).
//   IPv6: neighbour solicitations only (next header 58 right after the fixed header, hop limit
//   255, ICMPv6 type 135, code 0), and, when a target list is given, only those whose target is
//   one of the listed addresses. These are the checks src/l2/ndp.ts makes first, so nothing the
//   announcer would answer is filtered out. An NS behind an IPv6 extension header is dropped, as
//   the decoder ignores it too (RFC 4861 NS are sent without one; MLD's hop-by-hop header only
//   appears on MLD reports, which the announcer never reads).
#pragma once

#include <linux/filter.h>
#include <stddef.h>
#include <stdint.h>

#include <array>
#include <vector>

namespace edgelb {

using Ipv6Bytes = std::array<uint8_t, 16>;

// Targets one filter program may list (9 instructions each, under BPF_MAXINSNS = 4096); with more,
// or when the kernel refuses the program's size (net.core.optmem_max), the filter matches every
// neighbour solicitation and JavaScript picks the targets.
constexpr size_t kMaxFilterTargets = 400;

std::vector<sock_filter> ArpRequestFilter();
// targets == nullptr or more than kMaxFilterTargets: every NS.
std::vector<sock_filter> NeighbourSolicitationFilter(const std::vector<Ipv6Bytes>* targets);
// setsockopt(SO_ATTACH_FILTER): replaces the socket's filter atomically. 0 or errno.
int AttachFilter(int fd, std::vector<sock_filter>* prog);

}  // namespace edgelb

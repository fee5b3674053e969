// The classic BPF programs of packet_filter.h. Offsets are from the Ethernet header (SOCK_RAW):
// EtherType at 12, IPv6 next header at 20 and hop limit at 21, ICMPv6 type at 54 and code at 55,
// the NS target at 62..77; ARP opcode at 20.
#include "packet_filter.h"

#include <errno.h>
#include <sys/socket.h>

namespace edgelb {

namespace {

constexpr uint32_t kAccept = 0x40000;  // snap length: the whole frame

sock_filter Stmt(uint16_t code, uint32_t k) { return sock_filter{code, 0, 0, k}; }
sock_filter Jump(uint16_t code, uint32_t k, uint8_t jt, uint8_t jf) { return sock_filter{code, jt, jf, k}; }

// "load (size) at off; if it equals k go on, else drop" as three instructions, so no jump ever
// needs to reach a distant drop (jump offsets are 8 bits).
void Require(std::vector<sock_filter>* p, uint16_t size, uint32_t off, uint32_t k) {
  p->push_back(Stmt(BPF_LD | size | BPF_ABS, off));
  p->push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, k, 1, 0));
  p->push_back(Stmt(BPF_RET | BPF_K, 0));
}

uint32_t Word(const Ipv6Bytes& a, int i) {
  return (uint32_t)a[i * 4] << 24 | (uint32_t)a[i * 4 + 1] << 16 | (uint32_t)a[i * 4 + 2] << 8 | (uint32_t)a[i * 4 + 3];
}

}  // namespace

std::vector<sock_filter> ArpRequestFilter() {
  std::vector<sock_filter> p;
  Require(&p, BPF_H, 12, 0x0806);  // EtherType ARP
  Require(&p, BPF_H, 20, 1);       // opcode: request
  p.push_back(Stmt(BPF_RET | BPF_K, kAccept));
  return p;
}

std::vector<sock_filter> NeighbourSolicitationFilter(const std::vector<Ipv6Bytes>* targets) {
  std::vector<sock_filter> p;
  Require(&p, BPF_H, 12, 0x86dd);  // EtherType IPv6
  Require(&p, BPF_B, 20, 58);      // next header: ICMPv6, no extension header
  Require(&p, BPF_B, 21, 255);     // hop limit 255 (RFC 4861 §7.1.1)
  Require(&p, BPF_B, 54, 135);     // neighbour solicitation
  Require(&p, BPF_B, 55, 0);       // code 0
  if (targets == nullptr || targets->size() > kMaxFilterTargets) {
    p.push_back(Stmt(BPF_RET | BPF_K, kAccept));
    return p;
  }
  // the target's four words into scratch memory once (absolute loads are the costly instructions
  // once the kernel converts the program), then one block of 9 cheap instructions per target:
  // compare the last word first (VIPs of one prefix differ there), jump to the next block on a
  // mismatch
  for (int i = 0; i < 4; i++) {
    p.push_back(Stmt(BPF_LD | BPF_W | BPF_ABS, 62 + 4 * i));
    p.push_back(Stmt(BPF_ST, (uint32_t)i));
  }
  for (const Ipv6Bytes& t : *targets) {
    for (int k = 0; k < 4; k++) {
      int i = 3 - k;
      p.push_back(Stmt(BPF_LD | BPF_MEM, (uint32_t)i));
      p.push_back(Jump(BPF_JMP | BPF_JEQ | BPF_K, Word(t, i), 0, (uint8_t)(7 - 2 * k)));
    }
    p.push_back(Stmt(BPF_RET | BPF_K, kAccept));
  }
  p.push_back(Stmt(BPF_RET | BPF_K, 0));
  return p;
}

int AttachFilter(int fd, std::vector<sock_filter>* prog) {
  sock_fprog fp;
  fp.len = (unsigned short)prog->size();
  fp.filter = prog->data();
  return setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof(fp)) == 0 ? 0 : errno;
}

}  // namespace edgelb

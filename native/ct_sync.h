// ct_sync.h: the connection-sync flow record on the wire — one flow (both conntrack entries) in
// a portable, layout-independent form, big-endian, EDGELB_SYNC_RECORD_LEN bytes. Nodes of another
// conntrack layout version still understand it; src/sync/codec.ts carries records opaquely.
//
//   0  1  family (4 | 6)           1  1  protocol (6 TCP | 17 UDP)
//   2  1  mode (EDGELB_MODE_*)     3  1  TCP state (EDGELB_CT_ST_ESTABLISHED | FIN | RST)
//   4  4  age, ms since the flow's last packet on the sender (u32)
//   8  4  idle timeout of an established flow, s (u32)
//  12 16  client address          28  2  client port
//  30 16  VIP                     46  2  VIP port
//  48 16  backend                 64  2  backend port
//  66 16  translated source       82  2  translated source port (onearm: SNAT address; fullnat: VIP)
//  84  1  forward flags (EDGELB_CT_F_SNAT | EDGELB_CT_F_DNAT)
//  85  3  reserved, 0
// Addresses in network order; IPv4 in the first 4 bytes, the other 12 zero.
#pragma once

#include <stdint.h>

#define EDGELB_SYNC_RECORD_LEN 88

namespace edgelb {

struct SyncRecord {
  uint8_t family, proto, mode, state;
  uint32_t age_ms, timeout_sec;
  uint8_t client[16], vip[16], backend[16], xsrc[16];
  uint16_t cport, vport, bport, xport;  // network order
  uint8_t fwd_flags;
};

// Encode r into out (EDGELB_SYNC_RECORD_LEN bytes).
void SyncRecordEncode(const SyncRecord& r, uint8_t* out);
// Decode and validate; false when a field is out of range (wrong family, embryonic state, ...).
bool SyncRecordDecode(const uint8_t* in, SyncRecord* r);

}  // namespace edgelb

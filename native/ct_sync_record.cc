// Connection-sync flow records (ct_sync.h): encode, decode and validate the portable record, and
// the same as plain objects for tests and tools:
//   syncRecordEncode(object) -> Buffer · syncRecordDecode(Buffer) -> object | null · syncRecordLen
#include <arpa/inet.h>
#include <string.h>

#include <string>

#include "bpf/edgelb_shared.h"
#include "ct_sync.h"
#include "registry.h"
#include "util.h"

namespace edgelb {

static void Put32(uint8_t* p, uint32_t v) {
  p[0] = v >> 24;
  p[1] = v >> 16;
  p[2] = v >> 8;
  p[3] = v;
}
static uint32_t Get32(const uint8_t* p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }

void SyncRecordEncode(const SyncRecord& r, uint8_t* o) {
  memset(o, 0, EDGELB_SYNC_RECORD_LEN);
  o[0] = r.family;
  o[1] = r.proto;
  o[2] = r.mode;
  o[3] = r.state;
  Put32(o + 4, r.age_ms);
  Put32(o + 8, r.timeout_sec);
  memcpy(o + 12, r.client, 16);
  memcpy(o + 28, &r.cport, 2);
  memcpy(o + 30, r.vip, 16);
  memcpy(o + 46, &r.vport, 2);
  memcpy(o + 48, r.backend, 16);
  memcpy(o + 64, &r.bport, 2);
  memcpy(o + 66, r.xsrc, 16);
  memcpy(o + 82, &r.xport, 2);
  o[84] = r.fwd_flags;
}

static bool V4Clean(const uint8_t* a) {
  for (int i = 4; i < 16; i++)
    if (a[i]) return false;
  return true;
}

bool SyncRecordDecode(const uint8_t* in, SyncRecord* r) {
  memset(r, 0, sizeof(*r));
  r->family = in[0];
  r->proto = in[1];
  r->mode = in[2];
  r->state = in[3];
  r->age_ms = Get32(in + 4);
  r->timeout_sec = Get32(in + 8);
  memcpy(r->client, in + 12, 16);
  memcpy(&r->cport, in + 28, 2);
  memcpy(r->vip, in + 30, 16);
  memcpy(&r->vport, in + 46, 2);
  memcpy(r->backend, in + 48, 16);
  memcpy(&r->bport, in + 64, 2);
  memcpy(r->xsrc, in + 66, 16);
  memcpy(&r->xport, in + 82, 2);
  r->fwd_flags = in[84];
  if (r->family != 4 && r->family != 6) return false;
  if (r->proto != 6 && r->proto != 17) return false;
  if (r->mode != EDGELB_MODE_DNAT && r->mode != EDGELB_MODE_ONEARM && r->mode != EDGELB_MODE_FULLNAT) return false;
  // never an embryonic flow, whatever a peer says: a SYN flood must not cross the cluster
  if (r->state != EDGELB_CT_ST_ESTABLISHED && r->state != EDGELB_CT_ST_FIN && r->state != EDGELB_CT_ST_RST) return false;
  if (r->proto == 17 && r->state != EDGELB_CT_ST_ESTABLISHED) return false;
  if (r->timeout_sec < 1 || r->timeout_sec > 7 * 86400) return false;
  if (r->age_ms > r->timeout_sec * 1000u) return false;
  if (!(r->fwd_flags & EDGELB_CT_F_DNAT) || (r->fwd_flags & ~(EDGELB_CT_F_SNAT | EDGELB_CT_F_DNAT))) return false;
  if ((r->mode == EDGELB_MODE_DNAT) != !(r->fwd_flags & EDGELB_CT_F_SNAT)) return false;
  if (in[85] || in[86] || in[87]) return false;
  if (r->family == 4 && !(V4Clean(r->client) && V4Clean(r->vip) && V4Clean(r->backend) && V4Clean(r->xsrc))) return false;
  if (!r->cport || !r->vport || !r->bport || !r->xport) return false;
  return true;
}

// ---- records as plain objects (tests and tools): addresses as 16-byte Buffers, ports as numbers (host order)

static Napi::Value RecordEncode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_OBJECT(info, 0, "record", env.Undefined());
  Napi::Object o = info[0].As<Napi::Object>();
  SyncRecord r;
  memset(&r, 0, sizeof(r));
  struct {
    const char* key;
    int64_t lo, hi;
    int64_t v;
  } ints[] = {{"family", 0, 255, 0}, {"proto", 0, 255, 0}, {"mode", 0, 255, 0}, {"state", 0, 255, 0}, {"ageMs", 0, 0xffffffffLL, 0}, {"timeoutSec", 0, 0xffffffffLL, 0}, {"cport", 0, 65535, 0}, {"vport", 0, 65535, 0}, {"bport", 0, 65535, 0}, {"xport", 0, 65535, 0}, {"fwdFlags", 0, 255, 0}};
  for (auto& f : ints) {
    bool has = false;
    if (!OptInt(o, f.key, f.lo, f.hi, &f.v, &has)) return env.Undefined();
  }
  r.family = (uint8_t)ints[0].v;
  r.proto = (uint8_t)ints[1].v;
  r.mode = (uint8_t)ints[2].v;
  r.state = (uint8_t)ints[3].v;
  r.age_ms = (uint32_t)ints[4].v;
  r.timeout_sec = (uint32_t)ints[5].v;
  r.cport = htons((uint16_t)ints[6].v);
  r.vport = htons((uint16_t)ints[7].v);
  r.bport = htons((uint16_t)ints[8].v);
  r.xport = htons((uint16_t)ints[9].v);
  r.fwd_flags = (uint8_t)ints[10].v;
  struct {
    const char* key;
    uint8_t* dst;
  } addrs[] = {{"client", r.client}, {"vip", r.vip}, {"backend", r.backend}, {"xsrc", r.xsrc}};
  for (auto& a : addrs) {
    std::string s;
    bool has = false;
    if (!OptBytes(o, a.key, &s, &has)) return env.Undefined();
    if (has && s.size() != 16) return ThrowRange(env, std::string(a.key) + " must be 16 bytes"), env.Undefined();
    if (has) memcpy(a.dst, s.data(), 16);
  }
  auto b = Napi::Buffer<uint8_t>::New(env, EDGELB_SYNC_RECORD_LEN);
  SyncRecordEncode(r, b.Data());
  return b;
}

static Napi::Value RecordDecode(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  EDGELB_ARG_BUFFER(info, 0, "record", env.Undefined());
  auto b = info[0].As<Napi::Buffer<uint8_t>>();
  if (b.Length() != EDGELB_SYNC_RECORD_LEN) return ThrowRange(env, "a record is " + std::to_string(EDGELB_SYNC_RECORD_LEN) + " bytes"), env.Undefined();
  SyncRecord r;
  if (!SyncRecordDecode(b.Data(), &r)) return env.Null();
  Napi::Object o = Napi::Object::New(env);
  o.Set("family", r.family);
  o.Set("proto", r.proto);
  o.Set("mode", r.mode);
  o.Set("state", r.state);
  o.Set("ageMs", (double)r.age_ms);
  o.Set("timeoutSec", (double)r.timeout_sec);
  o.Set("client", Napi::Buffer<uint8_t>::Copy(env, r.client, 16));
  o.Set("vip", Napi::Buffer<uint8_t>::Copy(env, r.vip, 16));
  o.Set("backend", Napi::Buffer<uint8_t>::Copy(env, r.backend, 16));
  o.Set("xsrc", Napi::Buffer<uint8_t>::Copy(env, r.xsrc, 16));
  o.Set("cport", ntohs(r.cport));
  o.Set("vport", ntohs(r.vport));
  o.Set("bport", ntohs(r.bport));
  o.Set("xport", ntohs(r.xport));
  o.Set("fwdFlags", r.fwd_flags);
  return o;
}
static void InitSyncRecord(Napi::Env env, Napi::Object exports) {
  exports.Set("syncRecordEncode", Napi::Function::New(env, RecordEncode, "syncRecordEncode"));
  exports.Set("syncRecordDecode", Napi::Function::New(env, RecordDecode, "syncRecordDecode"));
  exports.Set("syncRecordLen", Napi::Number::New(env, EDGELB_SYNC_RECORD_LEN));
}

}  // namespace edgelb

EDGELB_REGISTER(ct_sync_record, edgelb::InitSyncRecord);

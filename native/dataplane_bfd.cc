// The BFD offload's map rows (native/bpf/bfd.h, struct edgelb_bfd_* in edgelb_shared.h) from and
// to plain JS objects, for xdpEncode/xdpDecode('bfdSess' | 'bfdFrame' | 'bfdLease'): the sessions
// XDP answers for, the frames signed ahead (with their checksum sum) and the daemon's lease.
#include <arpa/inet.h>
#include <string.h>

#include <string>

#include "bpf/edgelb_shared.h"
#include "struct_codec.h"
#include "util.h"

namespace edgelb {

namespace {

bool ReqU64(Napi::Object o, const char* key, uint64_t* out) {
  Napi::Value v = o.Get(key);
  if (!v.IsBigInt()) {
    ThrowType(o.Env(), std::string("property ") + key + " must be a bigint");
    return false;
  }
  bool lossless = true;
  *out = v.As<Napi::BigInt>().Uint64Value(&lossless);
  if (!lossless) {
    ThrowRange(o.Env(), std::string("property ") + key + " must be 0..2^64-1");
    return false;
  }
  return true;
}

Napi::Value EncodeBfdSess(Napi::Env env, Napi::Object o) {
  edgelb_bfd_sess b;
  memset(&b, 0, sizeof(b));
  int fam = ReqAddr(o, "local", &b.local);
  if (!fam) return env.Undefined();
  int pfam = ReqAddr(o, "peer", &b.peer);
  if (!pfam) return env.Undefined();
  if (fam != pfam) return ThrowType(env, "local and peer must be of one family"), env.Undefined();
  b.family = (uint8_t)fam;
  int64_t v;
  if (!ReqInt(o, "remoteDiscr", 1, 0xffffffff, &v)) return env.Undefined();
  b.remote_discr = (uint32_t)v;
  if (!ReqInt(o, "firstSeq", 0, 0xffffffff, &v)) return env.Undefined();
  b.first_seq = (uint32_t)v;
  if (!ReqInt(o, "lastSeq", 0, 0xffffffff, &v)) return env.Undefined();
  b.last_seq = (uint32_t)v;
  if (!ReqInt(o, "frames", 1, EDGELB_BFD_WINDOW_MAX, &v)) return env.Undefined();
  b.nframes = (uint32_t)v;
  if (!ReqInt(o, "slot", 0, EDGELB_BFD_SESSIONS_MAX - 1, &v)) return env.Undefined();
  b.slot = (uint32_t)v;
  if (!ReqInt(o, "srcPort", 1, 65535, &v)) return env.Undefined();
  b.src_port = htons((uint16_t)v);
  if (!ReqInt(o, "dstPort", 1, 65535, &v)) return env.Undefined();
  b.dst_port = htons((uint16_t)v);
  bool ok = true;
  b.auth_type = (uint8_t)IntOr(o, "authType", 0, 255, 0, &ok);
  if (!ok) return env.Undefined();
  b.key_id = (uint8_t)IntOr(o, "keyId", 0, 255, 0, &ok);
  if (!ok) return env.Undefined();
  const char* u32s[] = {"desiredMinTxUs", "requiredMinRxUs", "remoteDesiredMinTxUs", "remoteMinRxUs"};
  uint32_t* u32d[] = {&b.desired_min_tx_us, &b.required_min_rx_us, &b.remote_desired_min_tx_us, &b.remote_min_rx_us};
  for (int i = 0; i < 4; i++) {
    if (!ReqInt(o, u32s[i], 0, 0xffffffff, &v)) return env.Undefined();
    *u32d[i] = (uint32_t)v;
  }
  if (!ReqInt(o, "detectMult", 1, 255, &v)) return env.Undefined();
  b.detect_mult = (uint8_t)v;
  if (!ReqInt(o, "remoteDetectMult", 0, 255, &v)) return env.Undefined();
  b.remote_detect_mult = (uint8_t)v;
  Napi::Value kv = o.Get("key");
  std::string key = kv.IsString() ? kv.As<Napi::String>().Utf8Value() : "";
  if (key.empty() || key.size() >= EDGELB_BFD_KEY_MAX || key.find('\0') != std::string::npos)
    return ThrowRange(env, "property key must be a string of 1.." + std::to_string(EDGELB_BFD_KEY_MAX - 1) + " bytes"), env.Undefined();
  memcpy(b.key, key.data(), key.size());
  bool f = false, has = false;
  if (!OptBool(o, "multihop", &f, &has)) return env.Undefined();
  if (f) b.flags |= EDGELB_BFD_F_MULTIHOP;
  f = false;
  if (!OptBool(o, "meticulous", &f, &has)) return env.Undefined();
  if (f) b.flags |= EDGELB_BFD_F_METICULOUS;
  return Bytes(env, b);
}

Napi::Value EncodeBfdFrame(Napi::Env env, Napi::Object o) {
  edgelb_bfd_frame f;
  memset(&f, 0, sizeof(f));
  Napi::Value d = o.Get("data");
  if (!d.IsBuffer()) return ThrowType(env, "property data must be a Buffer"), env.Undefined();
  auto buf = d.As<Napi::Buffer<uint8_t>>();
  if (buf.Length() < 24 || buf.Length() > EDGELB_BFD_FRAME_MAX)
    return ThrowRange(env, "a BFD frame is 24.." + std::to_string(EDGELB_BFD_FRAME_MAX) + " bytes"), env.Undefined();
  f.len = (uint16_t)buf.Length();
  memcpy(f.data, buf.Data(), buf.Length());
  // the sum as the program adds it: 16-bit words in memory order (the zero tail adds nothing)
  uint32_t sum = 0;
  for (size_t i = 0; i < sizeof(f.data); i += 2) {
    uint16_t w;
    memcpy(&w, f.data + i, 2);
    sum += w;
  }
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  f.csum = (uint16_t)sum;
  return Bytes(env, f);
}

Napi::Value EncodeBfdLease(Napi::Env env, Napi::Object o) {
  edgelb_bfd_lease l;
  memset(&l, 0, sizeof(l));
  uint64_t until = 0, max = 0;
  if (!ReqU64(o, "untilNs", &until) || !ReqU64(o, "maxNs", &max)) return env.Undefined();
  l.until_ns = until;
  l.max_ns = max;
  return Bytes(env, l);
}

}  // namespace

Napi::Value EncodeBfd(Napi::Env env, const std::string& kind, Napi::Object o) {
  if (kind == "bfdSess") return EncodeBfdSess(env, o);
  if (kind == "bfdFrame") return EncodeBfdFrame(env, o);
  if (kind == "bfdLease") return EncodeBfdLease(env, o);
  ThrowType(env, "unknown struct kind: " + kind);
  return env.Undefined();
}

Napi::Value DecodeBfd(const Napi::CallbackInfo& info, const std::string& kind) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  if (kind == "bfdSess") {
    edgelb_bfd_sess b;
    if (!FromBytes(info, 1, &b)) return env.Undefined();
    o.Set("local", AddrString(env, b.local, b.family == 6 ? 6 : 4));
    o.Set("peer", AddrString(env, b.peer, b.family == 6 ? 6 : 4));
    o.Set("remoteDiscr", b.remote_discr);
    o.Set("firstSeq", b.first_seq);
    o.Set("lastSeq", b.last_seq);
    o.Set("sent", b.sent);
    o.Set("frames", b.nframes);
    o.Set("slot", b.slot);
    o.Set("srcPort", ntohs(b.src_port));
    o.Set("dstPort", ntohs(b.dst_port));
    o.Set("authType", b.auth_type);
    o.Set("keyId", b.key_id);
    o.Set("desiredMinTxUs", b.desired_min_tx_us);
    o.Set("requiredMinRxUs", b.required_min_rx_us);
    o.Set("remoteDesiredMinTxUs", b.remote_desired_min_tx_us);
    o.Set("remoteMinRxUs", b.remote_min_rx_us);
    o.Set("detectMult", b.detect_mult);
    o.Set("remoteDetectMult", b.remote_detect_mult);
    o.Set("key", std::string(b.key, strnlen(b.key, sizeof(b.key))));
    o.Set("multihop", (b.flags & EDGELB_BFD_F_MULTIHOP) != 0);
    o.Set("meticulous", (b.flags & EDGELB_BFD_F_METICULOUS) != 0);
    return o;
  }
  if (kind == "bfdFrame") {
    edgelb_bfd_frame f;
    if (!FromBytes(info, 1, &f)) return env.Undefined();
    size_t n = f.len <= EDGELB_BFD_FRAME_MAX ? f.len : EDGELB_BFD_FRAME_MAX;
    o.Set("data", Napi::Buffer<uint8_t>::Copy(env, f.data, n));
    return o;
  }
  if (kind == "bfdLease") {
    edgelb_bfd_lease l;
    if (!FromBytes(info, 1, &l)) return env.Undefined();
    o.Set("untilNs", Napi::BigInt::New(env, (uint64_t)l.until_ns));
    o.Set("maxNs", Napi::BigInt::New(env, (uint64_t)l.max_ns));
    return o;
  }
  ThrowType(env, "unknown struct kind: " + kind);
  return env.Undefined();
}

}  // namespace edgelb

// Connection sync, the node's side: read the flows the XDP program reports (ring buffer
// edgelb_ct_ev), walk the conntrack map for refreshes and bulk resyncs, and insert the flows
// other nodes report, as portable records (ct_sync.h). Ages travel on the wire; the flow clock of
// this node comes from ct_sync.bpf.o (BPF_PROG_TEST_RUN), so a synced entry expires here exactly
// when it would have on its sender. Service and backend indexes are this node's: looked up by
// (VIP, port, protocol) and (backend, port), never taken from the wire.
//   new CtSync({ pinDir, clockProgFd }) · drain(max) · walk(sinceMark, max) · refreshStep(sinceMark, visits)
//   · apply(records) · now() · watch(onReadable) · unwatch() · close()
// watch: the ring buffer's fd on this thread's event loop (uv_poll, level-triggered): onReadable
// runs when flows wait in the ring (the XDP side submits with adaptive wake-up, ct.h ct_report).
#include "ct_sync.h"

#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "bpf/edgelb_shared.h"
#include "poll_fd.h"
#include "registry.h"
#include "util.h"

namespace edgelb {

// Slack for a record against an entry carried here: transit, scheduling, ticks of the flow clock.
static constexpr uint64_t kCarriedSlackNs = 50ULL * 1000000ULL;

// A flow's record from its two entries, at flow-clock time now.
static SyncRecord RecordOf(const edgelb_ct_key& fk, const edgelb_ct& f, const edgelb_ct& rv, uint64_t now) {
  SyncRecord r;
  memset(&r, 0, sizeof(r));
  r.family = fk.family;
  r.proto = fk.proto;
  r.mode = f.mode;
  r.state = f.state;
  uint64_t last = f.last_ns > rv.last_ns ? f.last_ns : rv.last_ns;
  uint64_t age = now > last ? (now - last) / 1000000ULL : 0;
  r.age_ms = age > 0xffffffffULL ? 0xffffffffu : (uint32_t)age;
  r.timeout_sec = f.timeout_sec;
  memcpy(r.client, &fk.src, 16);
  r.cport = fk.sport;
  memcpy(r.vip, &fk.dst, 16);
  r.vport = fk.dport;
  memcpy(r.backend, &f.new_dst, 16);
  r.bport = f.new_dport;
  memcpy(r.xsrc, &f.new_src, 16);
  r.xport = f.new_sport;
  r.fwd_flags = f.flags & (EDGELB_CT_F_SNAT | EDGELB_CT_F_DNAT);
  return r;
}

static bool Reportable(const edgelb_ct& f) {
  return !(f.flags & EDGELB_CT_F_REPLY) && f.mode != EDGELB_MODE_DSR &&
         (f.state == EDGELB_CT_ST_ESTABLISHED || f.state == EDGELB_CT_ST_FIN || f.state == EDGELB_CT_ST_RST);
}

static uint64_t TimeoutNs(const edgelb_ct& c, const edgelb_cfg& cfg) {
  uint32_t s = c.timeout_sec;
  if (c.state == EDGELB_CT_ST_SYN || c.state == EDGELB_CT_ST_SYN_REPLY) s = cfg.tcp_syn_timeout;
  else if (c.state == EDGELB_CT_ST_FIN) s = cfg.tcp_fin_timeout;
  else if (c.state == EDGELB_CT_ST_RST) s = cfg.tcp_rst_timeout;
  return (uint64_t)s * 1000000000ULL;
}

class CtSync : public Napi::ObjectWrap<CtSync> {
 public:
  static Napi::Function Define(Napi::Env env) {
    return DefineClass(env, "CtSync",
                       {
                           InstanceMethod("drain", &CtSync::Drain),
                           InstanceMethod("walk", &CtSync::Walk),
                           InstanceMethod("refreshStep", &CtSync::RefreshStep),
                           InstanceMethod("apply", &CtSync::Apply),
                           InstanceMethod("now", &CtSync::Now),
                           InstanceMethod("watch", &CtSync::Watch),
                           InstanceMethod("unwatch", &CtSync::Unwatch),
                           InstanceMethod("close", &CtSync::Close),
                       });
  }

  explicit CtSync(const Napi::CallbackInfo& info) : Napi::ObjectWrap<CtSync>(info) {
    Napi::Env env = info.Env();
    EDGELB_ARG_OBJECT(info, 0, "options", );
    Napi::Object o = info[0].As<Napi::Object>();
    std::string dir;
    bool has = false;
    if (!OptString(o, "pinDir", &dir, &has)) return;
    if (!has) {
      ThrowType(env, "options.pinDir is required");
      return;
    }
    int64_t clock = -1;
    if (!OptInt(o, "clockProgFd", 0, 0x7fffffff, &clock, &has)) return;
    if (!has) {
      ThrowType(env, "options.clockProgFd is required");
      return;
    }
    struct {
      const char* name;
      int* fd;
    } pins[] = {{EDGELB_MAP_CT4, &ct4_}, {EDGELB_MAP_CT6, &ct6_}, {EDGELB_MAP_CT_EVENTS, &ev_}, {EDGELB_MAP_SVC, &svc_}, {EDGELB_MAP_BACKENDS, &be_}, {EDGELB_MAP_CFG, &cfg_}};
    for (auto& p : pins) {
      std::string path = dir + "/" + p.name;
      *p.fd = bpf_obj_get(path.c_str());
      if (*p.fd < 0) {
        int err = errno;
        Release();
        ThrowErrno(env, "bpf_obj_get(" + path + ")", err);
        return;
      }
    }
    clock_ = dup((int)clock);
    bpf_map_info mi;
    memset(&mi, 0, sizeof(mi));
    __u32 len = sizeof(mi);
    if (clock_ < 0 || bpf_obj_get_info_by_fd(be_, &mi, &len) != 0) {
      int err = errno;
      Release();
      ThrowErrno(env, "ct sync setup", err);
      return;
    }
    be_max_ = mi.max_entries;
    rb_ = ring_buffer__new(ev_, &CtSync::OnEvent, this, nullptr);
    if (!rb_) {
      int err = errno;
      Release();
      ThrowErrno(env, "ring_buffer__new(edgelb_ct_ev)", err);
      return;
    }
    cleanup_id_ = TrackResource(env, [this]() { Release(); });
  }

  ~CtSync() override { Release(); }

 private:
  static int OnEvent(void* ctx, void* data, size_t size) {
    CtSync* self = static_cast<CtSync*>(ctx);
    if (size < sizeof(edgelb_ct_event)) return 0;
    if (self->events_.size() >= self->max_) {
      self->dropped_++;
      return 0;
    }
    edgelb_ct_event ev;
    memcpy(&ev, data, sizeof(ev));
    self->events_.push_back(ev);
    return 0;
  }

  void Release() {
    poller_.reset();  // closes the uv handle before the fd
    if (!on_readable_.IsEmpty()) on_readable_.Reset();
    if (rb_) ring_buffer__free(rb_);
    rb_ = nullptr;
    for (int* fd : {&ct4_, &ct6_, &ev_, &svc_, &be_, &cfg_, &clock_}) {
      if (*fd >= 0) close(*fd);
      *fd = -1;
    }
    if (cleanup_id_ != 0) {
      UntrackResource(Env(), cleanup_id_);
      cleanup_id_ = 0;
    }
  }

  // The conntrack map of the key's family and the key as that map wants it (ct.h ct_lookup).
  int MapOf(const edgelb_ct_key& k, const void** key, edgelb_ct4_key* k4) {
    if (k.family == 4) {
      memset(k4, 0, sizeof(*k4));
      k4->src = k.src.a[0];
      k4->dst = k.dst.a[0];
      k4->sport = k.sport;
      k4->dport = k.dport;
      k4->proto = k.proto;
      *key = k4;
      return ct4_;
    }
    *key = &k;
    return ct6_;
  }
  bool Lookup(const edgelb_ct_key& k, edgelb_ct* v) {
    edgelb_ct4_key k4;
    const void* key;
    int fd = MapOf(k, &key, &k4);
    return bpf_map_lookup_elem(fd, key, v) == 0;
  }
  bool Update(const edgelb_ct_key& k, const edgelb_ct& v) {
    edgelb_ct4_key k4;
    const void* key;
    int fd = MapOf(k, &key, &k4);
    return bpf_map_update_elem(fd, key, &v, BPF_ANY) == 0;
  }

  bool Open(Napi::Env env) {
    if (ct4_ >= 0) return true;
    ThrowErrno(env, "CtSync is closed", EBADF);
    return false;
  }

  // The data path's flow clock (clock.h), or 0 after throwing.
  uint64_t Clock(Napi::Env env) {
    uint8_t in[64] = {0}, out[64] = {0};
    LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = in, .data_out = out, .data_size_in = sizeof(in), .data_size_out = sizeof(out), .repeat = 1);
    if (bpf_prog_test_run_opts(clock_, &opts) != 0) {
      ThrowErrno(env, "bpf_prog_test_run(edgelb_now)", errno);
      return 0;
    }
    uint64_t v;
    memcpy(&v, out, 8);
    return v;
  }

  bool Cfg(Napi::Env env, edgelb_cfg* c) {
    uint32_t zero = 0;
    if (bpf_map_lookup_elem(cfg_, &zero, c) != 0) {
      ThrowErrno(env, "bpf_map_lookup_elem(edgelb_cfg)", errno);
      return false;
    }
    return true;
  }

  static Napi::Buffer<uint8_t> Records(Napi::Env env, const std::vector<SyncRecord>& rs) {
    auto b = Napi::Buffer<uint8_t>::New(env, rs.size() * EDGELB_SYNC_RECORD_LEN);
    for (size_t i = 0; i < rs.size(); i++) SyncRecordEncode(rs[i], b.Data() + i * EDGELB_SYNC_RECORD_LEN);
    return b;
  }

  // drain(max) -> { records: Buffer, count, dropped }: the reported flows since the last drain;
  // beyond max, events are dropped and counted (the sender's queue bound).
  Napi::Value Drain(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    EDGELB_ARG_INT(info, 0, "max", 1, 10000000, max, env.Undefined());
    max_ = (size_t)max;
    dropped_ = 0;
    events_.clear();
    int n = ring_buffer__consume(rb_);
    if (n < 0) return ThrowErrno(env, "ring_buffer__consume", -n), env.Undefined();
    std::vector<SyncRecord> rs;
    rs.reserve(events_.size());
    uint64_t now = events_.empty() ? 0 : Clock(env);
    if (env.IsExceptionPending()) return env.Undefined();
    for (const auto& ev : events_)
      if (Reportable(ev.fwd)) rs.push_back(RecordOf(ev.fkey, ev.fwd, ev.rev, now));
    Napi::Object o = Napi::Object::New(env);
    o.Set("records", Records(env, rs));
    o.Set("count", (double)rs.size());
    o.Set("dropped", (double)dropped_);
    events_.clear();
    return o;
  }

  // A position in the conntrack maps (IPv4 map, then IPv6 map), for walks done in steps.
  struct Cursor {
    int phase = 0;  // 0: edgelb_ct4, 1: edgelb_ct6, 2: done
    bool started = false;
    edgelb_ct4_key k4;
    edgelb_ct_key k6;
  };

  // Visit up to budget entries from c (visit returns false to stop early); true when the pass is
  // complete. A key deleted under the cursor makes the kernel restart at the first key: a flow
  // may be visited twice, never skipped for good (the next pass sees it).
  template <typename F>
  bool Step(Cursor& c, size_t budget, F visit) {
    edgelb_ct f;
    while (c.phase < 2) {
      if (budget == 0) return false;
      budget--;
      int rc;
      edgelb_ct_key k;
      if (c.phase == 0) {
        edgelb_ct4_key n4;
        rc = bpf_map_get_next_key(ct4_, c.started ? &c.k4 : nullptr, &n4);
        if (rc == 0) {
          c.k4 = n4;
          c.started = true;
          if (bpf_map_lookup_elem(ct4_, &n4, &f) != 0) continue;
          memset(&k, 0, sizeof(k));
          k.src.a[0] = n4.src;
          k.dst.a[0] = n4.dst;
          k.sport = n4.sport;
          k.dport = n4.dport;
          k.proto = n4.proto;
          k.family = 4;
        }
      } else {
        edgelb_ct_key n6;
        rc = bpf_map_get_next_key(ct6_, c.started ? &c.k6 : nullptr, &n6);
        if (rc == 0) {
          c.k6 = n6;
          c.started = true;
          if (bpf_map_lookup_elem(ct6_, &n6, &f) != 0) continue;
          k = n6;
        }
      }
      if (rc != 0) {
        c.phase++;
        c.started = false;
        continue;
      }
      if (!visit(k, f)) return false;
    }
    return true;
  }

  // Append the record of the flow whose forward entry is (k, f) when this node should report it
  // and it saw a packet after since.
  void MaybeRecord(const edgelb_ct_key& k, const edgelb_ct& f, uint64_t since, uint64_t now, const edgelb_cfg& cfg, std::vector<SyncRecord>* rs) {
    if (!Reportable(f)) return;
    // another node's flow that this node never carried is that node's to report
    if (f.flags & EDGELB_CT_F_SYNCED) return;
    edgelb_ct_key rk;
    memset(&rk, 0, sizeof(rk));
    rk.src = f.new_dst;
    rk.sport = f.new_dport;
    rk.dst = f.new_src;
    rk.dport = f.new_sport;
    rk.proto = k.proto;
    rk.family = k.family;
    edgelb_ct rv;
    if (!Lookup(rk, &rv) || rv.new_dport != k.sport || memcmp(&rv.new_dst, &k.src, sizeof(k.src)) != 0) return;
    uint64_t last = f.last_ns > rv.last_ns ? f.last_ns : rv.last_ns;
    if (last <= since || now - last > TimeoutNs(f, cfg)) return;
    rs->push_back(RecordOf(k, f, rv, now));
  }

  // walk(sinceMark: bigint, max) -> { records, count, mark: bigint, truncated }: the established
  // and closing flows this node translated or carried whose last packet is after sinceMark (0n:
  // all of them, a bulk resync); mark is the clock at the start of this walk.
  Napi::Value Walk(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsBigInt()) return ThrowType(env, "argument 0 (sinceMark) must be a BigInt"), env.Undefined();
    bool lossless = false;
    uint64_t since = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
    EDGELB_ARG_INT(info, 1, "max", 1, 10000000, max, env.Undefined());
    edgelb_cfg cfg;
    if (!Cfg(env, &cfg)) return env.Undefined();
    uint64_t now = Clock(env);
    if (env.IsExceptionPending()) return env.Undefined();
    std::vector<SyncRecord> rs;
    Cursor c;
    bool done = Step(c, SIZE_MAX, [&](const edgelb_ct_key& k, const edgelb_ct& f) {
      MaybeRecord(k, f, since, now, cfg, &rs);
      return rs.size() < (size_t)max;
    });
    Napi::Object o = Napi::Object::New(env);
    o.Set("records", Records(env, rs));
    o.Set("count", (double)rs.size());
    o.Set("mark", Napi::BigInt::New(env, (uint64_t)now));
    o.Set("truncated", !done);
    return o;
  }

  // refreshStep(sinceMark: bigint, visits) -> { records, count, done, mark: bigint }: the next
  // `visits` entries of a walk that continues across calls (so a large table never blocks the
  // sync thread for long). When the pass completes, done is true and mark is the clock at its
  // start: the sinceMark of the next pass.
  Napi::Value RefreshStep(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    if (info.Length() < 1 || !info[0].IsBigInt()) return ThrowType(env, "argument 0 (sinceMark) must be a BigInt"), env.Undefined();
    bool lossless = false;
    uint64_t since = info[0].As<Napi::BigInt>().Uint64Value(&lossless);
    EDGELB_ARG_INT(info, 1, "visits", 1, 100000000, visits, env.Undefined());
    edgelb_cfg cfg;
    if (!Cfg(env, &cfg)) return env.Undefined();
    uint64_t now = Clock(env);
    if (env.IsExceptionPending()) return env.Undefined();
    if (!refresh_active_) {
      refresh_ = Cursor();
      refresh_mark_ = now;
      refresh_active_ = true;
    }
    std::vector<SyncRecord> rs;
    bool done = Step(refresh_, (size_t)visits, [&](const edgelb_ct_key& k, const edgelb_ct& f) {
      MaybeRecord(k, f, since, now, cfg, &rs);
      return true;
    });
    if (done) refresh_active_ = false;
    Napi::Object o = Napi::Object::New(env);
    o.Set("records", Records(env, rs));
    o.Set("count", (double)rs.size());
    o.Set("done", done);
    o.Set("mark", Napi::BigInt::New(env, (uint64_t)refresh_mark_));
    return o;
  }

  bool Backend(const SyncRecord& r, uint32_t* index, uint32_t* gen) {
    std::string key((const char*)r.backend, 16);
    key.append((const char*)&r.bport, 2);
    key.push_back((char)r.family);
    auto it = backends_.find(key);
    if (it == backends_.end()) {
      auto t = std::chrono::steady_clock::now();
      if (t - be_loaded_ < std::chrono::milliseconds(200)) return false;
      be_loaded_ = t;
      backends_.clear();
      for (uint32_t i = 0; i < be_max_; i++) {
        edgelb_backend b;
        if (bpf_map_lookup_elem(be_, &i, &b) != 0 || b.family == 0) continue;
        std::string k((const char*)&b.addr, 16);
        k.append((const char*)&b.port, 2);
        k.push_back((char)b.family);
        backends_[k] = {i, b.gen};
      }
      it = backends_.find(key);
      if (it == backends_.end()) return false;
    }
    // the slot may have been reused since: check it still holds this backend
    edgelb_backend b;
    uint32_t i = it->second.first;
    if (bpf_map_lookup_elem(be_, &i, &b) != 0 || b.family != r.family || b.port != r.bport || memcmp(&b.addr, r.backend, 16) != 0) {
      backends_.erase(it);
      be_loaded_ = {};
      return false;
    }
    *index = i;
    *gen = b.gen;
    return true;
  }

  // apply(records: Buffer) -> { applied, invalid, noService, noBackend, stale, conflict, failed }
  Napi::Value Apply(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    EDGELB_ARG_BUFFER(info, 0, "records", env.Undefined());
    auto buf = info[0].As<Napi::Buffer<uint8_t>>();
    if (buf.Length() % EDGELB_SYNC_RECORD_LEN != 0) return ThrowRange(env, "records: not a multiple of the record length"), env.Undefined();
    edgelb_cfg cfg;
    if (!Cfg(env, &cfg)) return env.Undefined();
    uint64_t now = Clock(env);
    if (env.IsExceptionPending()) return env.Undefined();
    double applied = 0, invalid = 0, noService = 0, noBackend = 0, stale = 0, conflict = 0, failed = 0;
    for (size_t off = 0; off < buf.Length(); off += EDGELB_SYNC_RECORD_LEN) {
      SyncRecord r;
      if (!SyncRecordDecode(buf.Data() + off, &r)) {
        invalid++;
        continue;
      }
      edgelb_svc_key sk;
      memset(&sk, 0, sizeof(sk));
      memcpy(&sk.vip, r.vip, 16);
      sk.port = r.vport;
      sk.proto = r.proto;
      sk.family = r.family;
      edgelb_svc svc;
      if (bpf_map_lookup_elem(svc_, &sk, &svc) != 0 || svc.mode != r.mode) {
        noService++;
        continue;
      }
      uint32_t bi, bg;
      if (!Backend(r, &bi, &bg)) {
        noBackend++;
        continue;
      }
      uint64_t age = (uint64_t)r.age_ms * 1000000ULL;
      uint64_t last = now > age ? now - age : 0;
      edgelb_ct_key fk, rk;
      edgelb_ct f, rv, old;
      memset(&fk, 0, sizeof(fk));
      memset(&rk, 0, sizeof(rk));
      memset(&f, 0, sizeof(f));
      memset(&rv, 0, sizeof(rv));
      memcpy(&fk.src, r.client, 16);
      memcpy(&fk.dst, r.vip, 16);
      fk.sport = r.cport;
      fk.dport = r.vport;
      fk.proto = r.proto;
      fk.family = r.family;
      memcpy(&rk.src, r.backend, 16);
      memcpy(&rk.dst, r.xsrc, 16);
      rk.sport = r.bport;
      rk.dport = r.xport;
      rk.proto = r.proto;
      rk.family = r.family;
      // the newest news wins; a record looks newer here by its transit and the clock's tick, so
      // news of a flow carried here within kCarriedSlackNs counts as newer, while a synced entry
      // compares exactly (a peer's FIN right after its established record still lands)
      if (Lookup(fk, &old) && now - old.last_ns <= TimeoutNs(old, cfg) &&
          old.last_ns + ((old.flags & EDGELB_CT_F_SYNCED) ? 0 : kCarriedSlackNs) >= last) {
        stale++;
        continue;
      }
      // the reply key held by another live flow (a fullnat port both nodes took): keep it
      if (Lookup(rk, &old) && (old.new_dport != r.cport || memcmp(&old.new_dst, r.client, 16) != 0) &&
          now - old.last_ns <= TimeoutNs(old, cfg)) {
        conflict++;
        continue;
      }
      f.mode = rv.mode = r.mode;
      f.state = rv.state = r.state;
      f.last_ns = rv.last_ns = last;
      f.timeout_sec = rv.timeout_sec = r.timeout_sec;
      f.svc_index = rv.svc_index = svc.index;
      f.be_index = rv.be_index = bi;
      f.be_gen = rv.be_gen = bg;
      f.flags = r.fwd_flags | EDGELB_CT_F_SYNCED;
      memcpy(&f.new_src, r.xsrc, 16);
      f.new_sport = r.xport;
      memcpy(&f.new_dst, r.backend, 16);
      f.new_dport = r.bport;
      memcpy(&f.nh, r.backend, 16);
      rv.flags = EDGELB_CT_F_REPLY | EDGELB_CT_F_SNAT | (r.mode == EDGELB_MODE_DNAT ? 0 : EDGELB_CT_F_DNAT) | EDGELB_CT_F_SYNCED |
                 (r.proto == 17 ? EDGELB_CT_F_SHARED : 0);
      memcpy(&rv.new_src, r.vip, 16);
      rv.new_sport = r.vport;
      memcpy(&rv.new_dst, r.client, 16);
      rv.new_dport = r.cport;
      memcpy(&rv.nh, r.client, 16);
      if (!Update(rk, rv) || !Update(fk, f)) {
        failed++;
        continue;
      }
      applied++;
    }
    Napi::Object o = Napi::Object::New(env);
    o.Set("applied", applied);
    o.Set("invalid", invalid);
    o.Set("noService", noService);
    o.Set("noBackend", noBackend);
    o.Set("stale", stale);
    o.Set("conflict", conflict);
    o.Set("failed", failed);
    return o;
  }

  Napi::Value Now(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    uint64_t v = Clock(env);
    if (env.IsExceptionPending()) return env.Undefined();
    return Napi::BigInt::New(env, (uint64_t)v);
  }

  Napi::Value Close(const Napi::CallbackInfo& info) {
    Release();
    return info.Env().Undefined();
  }

  // watch(onReadable): call onReadable() (no arguments) whenever flows wait in the ring buffer;
  // it should drain() them (the poll is level-triggered: a ring left full calls again).
  Napi::Value Watch(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!Open(env)) return env.Undefined();
    EDGELB_ARG_FUNCTION(info, 0, "onReadable", env.Undefined());
    on_readable_ = Napi::Persistent(info[0].As<Napi::Function>());
    if (!poller_) {
      poller_ = std::make_unique<FdPoller>(env, ev_, [this](int status, int) {
        if (status < 0 || on_readable_.IsEmpty()) return;
        Napi::Env e = Env();
        Napi::HandleScope scope(e);
        on_readable_.MakeCallback(Value(), {});
        ReportPendingException(e);
      });
    }
    int rc = poller_->Start(UV_READABLE);
    if (rc != 0) {
      poller_.reset();
      on_readable_.Reset();
      ThrowErrno(env, "uv_poll_start(edgelb_ct_ev)", -rc);
    }
    return env.Undefined();
  }

  Napi::Value Unwatch(const Napi::CallbackInfo& info) {
    poller_.reset();
    if (!on_readable_.IsEmpty()) on_readable_.Reset();
    return info.Env().Undefined();
  }

  int ct4_ = -1, ct6_ = -1, ev_ = -1, svc_ = -1, be_ = -1, cfg_ = -1, clock_ = -1;
  uint32_t be_max_ = 0;
  ring_buffer* rb_ = nullptr;
  std::unique_ptr<FdPoller> poller_;
  Napi::FunctionReference on_readable_;
  std::vector<edgelb_ct_event> events_;
  size_t max_ = 0, dropped_ = 0;
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>> backends_;
  std::chrono::steady_clock::time_point be_loaded_{};
  Cursor refresh_;
  bool refresh_active_ = false;
  uint64_t refresh_mark_ = 0;
  uint64_t cleanup_id_ = 0;
};

static void InitCtSync(Napi::Env env, Napi::Object exports) {
  exports.Set("CtSync", CtSync::Define(env));
}

}  // namespace edgelb

EDGELB_REGISTER(ct_sync, edgelb::InitCtSync);

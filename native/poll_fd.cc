// FdPoller: uv_poll on a descriptor; the handle is freed in its close callback, so the poller may
// be destroyed at any time (the fd must be closed only after Stop() or destruction).
#include "poll_fd.h"

namespace edgelb {

FdPoller::FdPoller(Napi::Env env, int fd, std::function<void(int, int)> cb) : cb_(std::move(cb)) {
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  handle_ = new uv_poll_t;
  if (uv_poll_init(loop, handle_, fd) != 0) {
    delete handle_;
    handle_ = nullptr;
    return;
  }
  handle_->data = this;
}

FdPoller::~FdPoller() {
  if (handle_ == nullptr) return;
  uv_poll_stop(handle_);
  handle_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(handle_),
           [](uv_handle_t* h) { delete reinterpret_cast<uv_poll_t*>(h); });
  handle_ = nullptr;
}

int FdPoller::Start(int events) {
  if (handle_ == nullptr) return UV_EBADF;
  int rc = uv_poll_start(handle_, events, OnPoll);
  active_ = rc == 0;
  return rc;
}

void FdPoller::Stop() {
  if (handle_ != nullptr) uv_poll_stop(handle_);
  active_ = false;
}

void FdPoller::OnPoll(uv_poll_t* h, int status, int events) {
  auto* self = static_cast<FdPoller*>(h->data);
  if (self == nullptr) return;
  // a copy: the callback may destroy this poller (a socket closed from JavaScript)
  std::function<void(int, int)> cb = self->cb_;
  cb(status, events);
}

}  // namespace edgelb

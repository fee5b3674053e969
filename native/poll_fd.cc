// FdPoller: uv_poll on a descriptor; the handle is freed in its close callback (CloseUvHandle), so
// the poller may be destroyed at any time (the fd must be closed only after destruction).
#include "poll_fd.h"

#include <stdlib.h>
#include <sys/socket.h>

#include "util.h"

namespace edgelb {

FdPoller::FdPoller(Napi::Env env, int fd, std::function<void(int, int)> cb, bool rearmOnError)
    : env_(env), cb_(std::move(cb)), fd_(fd), rearm_(rearmOnError) {
  uv_loop_t* loop = nullptr;
  napi_get_uv_event_loop(env, &loop);
  handle_ = static_cast<uv_poll_t*>(malloc(sizeof(uv_poll_t)));
  if (uv_poll_init(loop, handle_, fd) != 0) {
    free(handle_);
    handle_ = nullptr;
    return;
  }
  handle_->data = this;
}

FdPoller::~FdPoller() {
  if (handle_ == nullptr) return;
  uv_poll_stop(handle_);
  CloseUvHandle(env_, reinterpret_cast<uv_handle_t*>(handle_));  // its data now belongs to the closer
  handle_ = nullptr;
}

int FdPoller::Start(int events) {
  if (handle_ == nullptr) return UV_EBADF;
  events_ = events;
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
  if (status < 0 && self->rearm_) {
    int err = 0;
    socklen_t len = sizeof(err);
    getsockopt(self->fd_, SOL_SOCKET, SO_ERROR, &err, &len);  // reading it clears it
    self->Start(self->events_);
    return;
  }
  // a copy: the callback may destroy this poller (a socket closed from JavaScript)
  std::function<void(int, int)> cb = self->cb_;
  cb(status, events);
}

}  // namespace edgelb

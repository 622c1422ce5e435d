// WorkerPool: a fixed set of threads that run tool calls, with a bounded queue.
//
// Tool calls may take seconds (EXPLAIN ANALYZE, index search); running them
// here keeps transport threads free for pings and other clients. submit()
// never blocks: when the queue is full it returns false and the caller answers
// "server busy". The destructor finishes queued work and joins the threads.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace dbopt::server {

class WorkerPool {
 public:
  WorkerPool(int threads, int max_queued);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  bool submit(std::function<void()> job);

 private:
  void run();

  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<std::function<void()>> queue_;
  size_t max_queued_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace dbopt::server

#include "core/workload/line_source.h"

#include <cstring>

namespace dbopt::workload {

LineSource::LineSource(std::istream& in) : in_(in), buf_(kChunk) {}

bool LineSource::fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size()) {
    if (buf_.size() >= kMaxLine) return false;
    buf_.resize(buf_.size() * 2);
  }
  in_.read(buf_.data() + end_, static_cast<std::streamsize>(buf_.size() - end_));
  const auto got = static_cast<std::size_t>(in_.gcount());
  if (got == 0) eof_ = true;
  end_ += got;
  bytes_ += got;
  return got > 0;
}

std::string_view LineSource::peek() {
  if (end_ == begin_) fill();
  return {buf_.data() + begin_, end_ - begin_};
}

bool LineSource::next(std::string_view& line) {
  overlong_ = false;
  std::size_t searched = begin_;
  while (true) {
    const void* nl = std::memchr(buf_.data() + searched, '\n', end_ - searched);
    if (nl) {
      const auto at = static_cast<std::size_t>(static_cast<const char*>(nl) - buf_.data());
      std::size_t stop = at;
      if (stop > begin_ && buf_[stop - 1] == '\r') --stop;
      line = std::string_view(buf_.data() + begin_, stop - begin_);
      begin_ = at + 1;
      overlong_ = continuing_;
      continuing_ = false;
      return true;
    }
    const std::size_t scanned = end_ - begin_;
    if (!fill()) {
      if (end_ > begin_) {  // the last line has no newline, or it exceeds kMaxLine
        const bool cut = !eof_;
        line = std::string_view(buf_.data() + begin_, end_ - begin_);
        begin_ = end_;
        overlong_ = cut || continuing_;
        continuing_ = cut;
        return true;
      }
      return false;
    }
    searched = begin_ + scanned;
  }
}

}  // namespace dbopt::workload

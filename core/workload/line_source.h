// LineSource: the lines of a stream, read 1 MiB at a time.
//
// Memory stays at one chunk (more only for a line longer than that, up to
// kMaxLine; a longer line is handed out in pieces flagged overlong()). Lines
// are views into the buffer, valid until the next call. "\r\n" ends a line too.
#pragma once

#include <cstdint>
#include <istream>
#include <string_view>
#include <vector>

namespace dbopt::workload {

class LineSource {
 public:
  static constexpr std::size_t kChunk = 1u << 20;
  static constexpr std::size_t kMaxLine = 64u << 20;

  explicit LineSource(std::istream& in);

  bool next(std::string_view& line);
  // The line last returned was cut at kMaxLine (its pieces are returned one by one).
  bool overlong() const { return overlong_; }
  // The start of the stream (up to one chunk), for format detection; call before next().
  std::string_view peek();
  std::uint64_t bytes() const { return bytes_; }

 private:
  bool fill();

  std::istream& in_;
  std::vector<char> buf_;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  bool eof_ = false;
  bool overlong_ = false;
  bool continuing_ = false;  // the previous piece was cut: this one is overlong too
  std::uint64_t bytes_ = 0;
};

}  // namespace dbopt::workload

// Status of a storage operation, in the manner of leveldb::Status: ok, or a code callers act
// on plus a message for people.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>

namespace wattline::ledger {

class [[nodiscard]] Status {
 public:
  enum class Code { kOk, kNotFound, kCorruption, kIoError, kInvalidArgument, kWrongNetwork, kLocked };

  Status() = default;
  static Status Ok() { return {}; }
  static Status NotFound(std::string m) { return {Code::kNotFound, std::move(m)}; }
  static Status Corruption(std::string m) { return {Code::kCorruption, std::move(m)}; }
  static Status IoError(std::string m) { return {Code::kIoError, std::move(m)}; }
  static Status InvalidArgument(std::string m) { return {Code::kInvalidArgument, std::move(m)}; }
  static Status WrongNetwork(std::string m) { return {Code::kWrongNetwork, std::move(m)}; }

  bool ok() const { return m_code == Code::kOk; }
  Code code() const { return m_code; }
  const std::string& message() const { return m_message; }
  std::string ToString() const { return ok() ? "ok" : m_message; }

 private:
  Status(Code c, std::string m) : m_code(c), m_message(std::move(m)) {}
  Code m_code = Code::kOk;
  std::string m_message;
};

/**
 * Thrown when the database fails in the middle of an operation (disk full, I/O error,
 * corruption found on read). The chainstate cannot continue safely: callers stop the process
 * (the on-disk state is consistent, see docs/chain-rules.md "Durability").
 */
class StorageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace wattline::ledger

#include "core/sql/fingerprint.h"

#include <gtest/gtest.h>

#include <string>

#include "core/common/error.h"

namespace dbopt::sql {
namespace {

TEST(FingerprintTest, IsSixteenHexDigits) {
  const std::string value = fingerprint("SELECT * FROM t WHERE id = 1");
  ASSERT_EQ(value.size(), 16u);
  EXPECT_EQ(value.find_first_not_of("0123456789abcdef"), std::string::npos) << value;
}

TEST(FingerprintTest, IgnoresConstantsParametersAndInListLength) {
  const std::string base = fingerprint("SELECT * FROM t WHERE a IN (1, 2, 3) AND b = 'x' LIMIT 5");
  EXPECT_EQ(base, fingerprint("SELECT * FROM t WHERE a IN (7) AND b = 'y' LIMIT 6"));
  EXPECT_EQ(base, fingerprint("select  *  from t where a in ($1, $2) and b = $3 limit $4"));
}

TEST(FingerprintTest, DiffersForDifferentShapes) {
  const std::string base = fingerprint("SELECT * FROM t WHERE a = 1");
  EXPECT_NE(base, fingerprint("SELECT * FROM t WHERE b = 1"));
  EXPECT_NE(base, fingerprint("SELECT * FROM u WHERE a = 1"));
  EXPECT_NE(base, fingerprint("SELECT * FROM t WHERE a > 1"));
  EXPECT_NE(base, fingerprint("SELECT * FROM t WHERE a = 1 AND c = 2"));
}

TEST(FingerprintTest, ThrowsForSyntaxErrorsWithPosition) {
  try {
    fingerprint("SELECT * FORM t");
    FAIL() << "bad SQL was fingerprinted";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::invalid_argument);
    EXPECT_STREQ(error.what(), "syntax error at or near \"FORM\" at position 10: SELECT * FORM t");
    EXPECT_FALSE(error.fix().empty());
  }
}

TEST(NormalizeTest, ReplacesConstantsWithParameters) {
  EXPECT_EQ(normalize("SELECT * FROM t WHERE a = 1 AND b = 'x' LIMIT 5"),
            "SELECT * FROM t WHERE a = $1 AND b = $2 LIMIT $3");
  // IN lists of different length stay different in the text.
  EXPECT_EQ(normalize("SELECT * FROM t WHERE a IN (1, 2)"), "SELECT * FROM t WHERE a IN ($1, $2)");
  // Existing parameters keep their numbers; constants get the next ones.
  EXPECT_EQ(normalize("SELECT * FROM t WHERE a = $1 AND b = 'x'"), "SELECT * FROM t WHERE a = $1 AND b = $2");
}

TEST(NormalizeTest, LeavesTextWithoutConstantsAlone) {
  EXPECT_EQ(normalize("SELECT a FROM t WHERE b = $1"), "SELECT a FROM t WHERE b = $1");
}

TEST(NormalizeTest, ThrowsForSyntaxErrors) {
  EXPECT_THROW(normalize("SELECT * FROM WHERE"), Error);
  EXPECT_THROW(normalize("SELECT 'unterminated"), Error);
}

}  // namespace
}  // namespace dbopt::sql

#include "core/common/settings.h"

#include <gtest/gtest.h>

#include "core/common/cancellation.h"
#include "core/common/error.h"

namespace dbopt {

TEST(RedactDsn, MasksUriPassword) {
  EXPECT_EQ(redact_dsn("postgresql://app:s3cret@db.example:5432/shop"),
            "postgresql://app:***@db.example:5432/shop");
}

TEST(RedactDsn, MasksKeyValuePassword) {
  EXPECT_EQ(redact_dsn("host=db user=app password=s3cret dbname=shop"),
            "host=db user=app password=*** dbname=shop");
  EXPECT_EQ(redact_dsn("password='a b' host=x"), "password=*** host=x");
}

TEST(RedactDsn, LeavesPasswordlessDsnAlone) {
  EXPECT_EQ(redact_dsn("postgresql://app@db/shop"), "postgresql://app@db/shop");
}

TEST(RedactSecret, KeepsOnlyAShortPrefix) {
  EXPECT_EQ(redact_secret("lin_api_0123456789abcdef"), "lin_***");
  EXPECT_EQ(redact_secret(""), "");
  EXPECT_EQ(redact_secret("ab").find("ab"), std::string::npos);
}

TEST(Settings, FindsDefaultAndNamedDatabases) {
  Settings s;
  s.databases.push_back({.name = "default", .url = "postgresql:///a"});
  s.databases.push_back({.name = "reporting", .url = "postgresql:///b"});
  ASSERT_NE(s.find_database(""), nullptr);
  EXPECT_EQ(s.find_database("")->url, "postgresql:///a");
  EXPECT_EQ(s.find_database("reporting")->url, "postgresql:///b");
  EXPECT_EQ(s.find_database("nope"), nullptr);
}

TEST(CancellationToken, CheckThrowsTypedErrors) {
  CancellationToken open;
  EXPECT_NO_THROW(open.check());
  open.cancel();
  try {
    open.check();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::cancelled);
  }
  CancellationToken past(CancellationToken::Clock::now() - std::chrono::milliseconds(1));
  try {
    past.check();
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::deadline_exceeded);
    EXPECT_FALSE(e.fix().empty());
  }
  EXPECT_EQ(past.remaining_ms(), 0);
}

}  // namespace dbopt

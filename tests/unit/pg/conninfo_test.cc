// Connection-string handling: no database needed.
#include "core/pg/detail/conninfo.h"

#include <gtest/gtest.h>

namespace dbopt::pg::detail {
namespace {

TEST(ConnInfo, AppendsClientParamsToUri) {
  EXPECT_EQ(with_client_params("postgresql://u:p@h:5432/db", 7, "dbopt"),
            "postgresql://u:p@h:5432/db?connect_timeout=7&application_name=dbopt");
  EXPECT_EQ(with_client_params("postgres://h/db?sslmode=require", 3, "dbopt"),
            "postgres://h/db?sslmode=require&connect_timeout=3&application_name=dbopt");
}

TEST(ConnInfo, AppendsClientParamsToKeyValue) {
  EXPECT_EQ(with_client_params("host=h dbname=db", 5, "dbopt"),
            "host=h dbname=db connect_timeout=5 application_name='dbopt'");
  EXPECT_EQ(with_client_params("", 5, "dbopt"), "connect_timeout=5 application_name='dbopt'");
}

TEST(ConnInfo, FindsPasswordsInEveryForm) {
  EXPECT_EQ(dsn_passwords("postgresql://app:s3cret@db/x"), std::vector<std::string>{"s3cret"});
  auto encoded = dsn_passwords("postgresql://app:p%40ss%3Aword@db/x");
  EXPECT_NE(std::find(encoded.begin(), encoded.end(), "p@ss:word"), encoded.end());
  EXPECT_NE(std::find(encoded.begin(), encoded.end(), "p%40ss%3Aword"), encoded.end());
  EXPECT_EQ(dsn_passwords("postgresql://db/x?user=app&password=qwerty"), std::vector<std::string>{"qwerty"});
  EXPECT_EQ(dsn_passwords("host=db password='with space' user=app"), std::vector<std::string>{"with space"});
  EXPECT_EQ(dsn_passwords("host=db PASSWORD = bare user=app"), std::vector<std::string>{"bare"});
  EXPECT_TRUE(dsn_passwords("postgresql://app@db/x").empty());
  EXPECT_TRUE(dsn_passwords("host=db user=app").empty());
}

TEST(ConnInfo, ScrubsPasswordsFromMessages) {
  EXPECT_EQ(scrub_password("missing \"=\" after \"hunter2\" in connection info string", "host=x password=hunter2"),
            "missing \"=\" after \"***\" in connection info string");
  EXPECT_EQ(scrub_password("no secret here", "postgresql://a:b@c/d"), "no secret here");
}

}  // namespace
}  // namespace dbopt::pg::detail

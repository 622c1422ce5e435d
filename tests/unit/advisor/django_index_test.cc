// The Django form of recommended indexes: exact text offline, and on the test
// PostgreSQL, Django itself (Debian 12's 3.2) turns each Meta entry into the
// same index as dbopt's DDL (compared by pg_get_indexdef, in a rolled-back
// transaction on the scratch database).
#include "core/advisor/django_index.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <unistd.h>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

namespace dbopt::advisor {
namespace {

using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::MatchesRegex;

Candidate index(std::vector<std::string> keys, std::string where = "", std::string method = "btree",
                std::vector<std::string> include = {}) {
  Candidate c;
  c.schema = "public";
  c.table = "dbopt_django_index_check";
  c.method = std::move(method);
  c.keys = std::move(keys);
  c.where = std::move(where);
  c.include = std::move(include);
  return c;
}

TEST(DjangoIndex, FieldsOrderPartialAndCoveringAsDjangoWritesThem) {
  const auto order = django_index(index({"tenant_id", "created_at DESC"}, "status = 'open' AND deleted_at IS NULL"));
  EXPECT_THAT(
      order.meta_entry,
      MatchesRegex("models\\.Index\\(fields=\\[\"tenant_id\", \"-created_at\"\\], condition=Q\\(status=\"open\"\\) "
                   "& Q\\(deleted_at__isnull=True\\), name=\"dbopt_django_inde_[0-9a-f]{8}_idx\"\\)"));
  EXPECT_LE(order.name.size(), 30u) << "Django refuses longer index names (models.E034)";
  EXPECT_THAT(order.operation, HasSubstr("AddIndexConcurrently(\"django_index_check\", models.Index("));
  EXPECT_THAT(order.imports, Contains("from django.db.models import Q"));

  const auto covering = django_index(index({"status"}, "", "btree", {"total"}));
  EXPECT_THAT(covering.meta_entry, HasSubstr("fields=[\"status\"], include=[\"total\"], name="));

  const auto lower = django_index(index({"(lower(email))"}));
  EXPECT_THAT(lower.meta_entry, HasSubstr("models.Index(Lower(\"email\"), name="));
  EXPECT_THAT(lower.imports, Contains("from django.db.models.functions import Lower"));

  const auto trigram = django_index(index({"body gin_trgm_ops"}, "", "gin"));
  EXPECT_THAT(trigram.meta_entry, HasSubstr("GinIndex(fields=[\"body\"], opclasses=[\"gin_trgm_ops\"], name="));

  const auto brin = django_index(index({"created_at"}, "", "brin"));
  EXPECT_THAT(brin.meta_entry, HasSubstr("BrinIndex(fields=[\"created_at\"], name="));
}

TEST(DjangoIndex, WhatDjangosIndexApiCannotSayBecomesRunSql) {
  for (const auto& c : {index({"(date_trunc('day'::text, created_at))"}), index({"status"}, "total > 100"),
                        index({"status"}, "status = 'it''s'")}) {
    const auto d = django_index(c);
    EXPECT_TRUE(d.meta_entry.empty()) << d.meta_entry;
    EXPECT_THAT(d.operation, HasSubstr("migrations.RunSQL(\"CREATE INDEX CONCURRENTLY "));
    EXPECT_THAT(d.operation, HasSubstr("reverse_sql=\"DROP INDEX CONCURRENTLY IF EXISTS "));
  }
}

TEST(DjangoIndex, OneMigrationForTheSetWithTheExtensionFirst) {
  auto trigram = index({"body gin_trgm_ops"}, "", "gin");
  trigram.extension = "pg_trgm";
  const std::string code = django_code({index({"tenant_id", "created_at DESC"}), trigram});
  EXPECT_THAT(code, HasSubstr("# models.py, the model on table public.dbopt_django_index_check:\n    class Meta:\n"));
  EXPECT_THAT(code, HasSubstr("    atomic = False"));
  const auto extension = code.find("CREATE EXTENSION IF NOT EXISTS pg_trgm");
  ASSERT_NE(extension, std::string::npos) << code;
  EXPECT_LT(extension, code.find("AddIndexConcurrently(")) << code;
  EXPECT_EQ(code.find("from django.db import models"), code.rfind("from django.db import models")) << code;
}

std::string run(const std::string& command) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  if (!p) return out;
  std::array<char, 4096> buf{};
  while (std::size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  pclose(p);
  return out;
}

constexpr const char* kCheck = R"py(
import json, os, sys, urllib.parse
u = urllib.parse.urlparse(os.environ["DBOPT_TEST_SCRATCH_URL"])
import django
from django.conf import settings
settings.configure(DATABASES={"default": {"ENGINE": "django.db.backends.postgresql", "NAME": u.path[1:],
    "USER": urllib.parse.unquote(u.username), "PASSWORD": urllib.parse.unquote(u.password or ""),
    "HOST": u.hostname, "PORT": str(u.port)}}, INSTALLED_APPS=[], USE_TZ=True)
django.setup()
from django.db import connection, models
from django.db.models import F, Q
from django.db.models.functions import Lower, Upper
from django.contrib.postgres.indexes import BrinIndex, GinIndex
spec = json.load(open(sys.argv[1]))
names = dict(models=models, F=F, Q=Q, Lower=Lower, Upper=Upper, GinIndex=GinIndex, BrinIndex=BrinIndex)
class Check(models.Model):
    tenant_id = models.IntegerField()
    status = models.TextField()
    total = models.IntegerField()
    email = models.TextField()
    body = models.TextField()
    created_at = models.DateTimeField()
    deleted_at = models.DateTimeField(null=True)
    class Meta:
        app_label = "dbopt_check"
        db_table = "dbopt_django_index_check"
        managed = False
        indexes = [eval(e, names) for e in spec["entries"]]
errors = [str(e) for e in Check.check()]
with connection.schema_editor(collect_sql=True, atomic=False) as editor:
    for i in Check._meta.indexes:
        editor.add_index(Check, i, concurrently=True)
def definition(cur, sql, name):
    cur.execute(sql.replace(" CONCURRENTLY", ""))
    cur.execute("SELECT pg_get_indexdef(oid) FROM pg_class WHERE relname = %s", [name])
    return cur.fetchone()[0].replace(name, "NAME")
pairs = []
with connection.cursor() as cur:
    cur.execute("BEGIN")
    cur.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    cur.execute("CREATE TABLE public.dbopt_django_index_check (id serial primary key, tenant_id int, status text,"
                " total int, email text, body text, created_at timestamptz, deleted_at timestamptz)")
    for sql, index, ours in zip(editor.collected_sql, Check._meta.indexes, spec["ddl"]):
        pairs.append([definition(cur, sql, index.name), definition(cur, ours["sql"], ours["name"])])
    cur.execute("ROLLBACK")
print(json.dumps({"errors": errors, "pairs": pairs}))
)py";

TEST(DjangoIndexLive, DjangoBuildsTheSameIndexAsTheDdl) {
  if (!std::getenv("DBOPT_TEST_SCRATCH_URL")) GTEST_SKIP() << "DBOPT_TEST_SCRATCH_URL is not set";
  if (std::system("/usr/bin/python3 -c 'import django' 2>/dev/null") != 0)
    GTEST_SKIP() << "python3-django is not installed (scripts/setup installs it)";
  const std::vector<Candidate> set = {
      index({"tenant_id", "created_at DESC"}, "status = 'open' AND deleted_at IS NULL"),
      index({"status"}, "", "btree", {"total"}),
      index({"(lower(email))"}),
      index({"body gin_trgm_ops"}, "", "gin"),
      index({"created_at"}, "", "brin"),
      index({"tenant_id"}, "deleted_at IS NOT NULL AND total = 3"),
  };
  nlohmann::json spec = {{"entries", nlohmann::json::array()}, {"ddl", nlohmann::json::array()}};
  for (const auto& c : set) {
    const auto d = django_index(c);
    ASSERT_FALSE(d.meta_entry.empty()) << c.ddl();
    spec["entries"].push_back(d.meta_entry);
    spec["ddl"].push_back({{"sql", c.ddl(false)}, {"name", c.name()}});
  }
  char dir[] = "/tmp/dbopt-django-index-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  const std::string base(dir);
  std::ofstream(base + "/spec.json") << spec.dump();
  std::ofstream(base + "/check.py") << kCheck;
  const std::string out = run("/usr/bin/python3 " + base + "/check.py " + base + "/spec.json 2>&1");
  std::system(("rm -rf " + base).c_str());
  const auto brace = out.rfind("\n{");
  const auto j = nlohmann::json::parse(out.substr(brace == std::string::npos ? 0 : brace), nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_TRUE(j["errors"].empty()) << j["errors"].dump();
  ASSERT_EQ(j["pairs"].size(), set.size()) << out;
  for (const auto& pair : j["pairs"]) EXPECT_EQ(pair[0], pair[1]) << "Django's index differs from the DDL";
}

}  // namespace
}  // namespace dbopt::advisor

// Every health rule fires on a snapshot that crosses its thresholds and stays
// quiet on one just short of them. Snapshots are fed here (numbers a live
// server cannot be made to show on demand, such as a 1.6 billion XID age);
// live_test.cc plants the real problems on the test PostgreSQL.
#include <gtest/gtest.h>

#include <functional>
#include <set>

#include "core/common/error.h"
#include "core/health/health_checks.h"
#include "health_test_support.h"

namespace dbopt::health {
namespace {

using namespace testing;
using knowledge::Severity;

struct Case {
  std::string rule_id;
  bool fires;
  std::string name;
  std::function<HealthSnapshot()> snapshot;
  ServerFacts facts = {};
  std::optional<Severity> severity = std::nullopt;  // expected, when it fires
};

HealthSnapshot with(std::function<void(HealthSnapshot&)> edit) {
  HealthSnapshot s;
  s.database = "default";
  s.database_name = "app";
  edit(s);
  return s;
}

std::map<std::string, SettingValue> healthy_settings() {
  return settings_from_text({{"fsync", "on"},
                             {"full_page_writes", "on"},
                             {"autovacuum", "on"},
                             {"shared_buffers", "4GB"},
                             {"work_mem", "16MB"},
                             {"max_connections", "200"},
                             {"random_page_cost", "1.1"},
                             {"jit", "off"},
                             {"jit_above_cost", "100000"}});
}
HealthSnapshot settings(std::function<void(std::map<std::string, SettingValue>&)> edit) {
  return with([&](HealthSnapshot& s) {
    s.settings = healthy_settings();
    edit(*s.settings);
  });
}
void set(std::map<std::string, SettingValue>& m, const std::string& name, const std::string& text) {
  m[name] = settings_from_text({{name, text}}).at(name);
}

Session session(int pid, const std::string& state, double state_age, double query_age,
                std::vector<int> blocked_by = {}) {
  Session s;
  s.pid = pid;
  s.database = "app";
  s.user = "app";
  s.application = "web";
  s.client = "10.0.0.5";
  s.state = state;
  s.state_age_s = state_age;
  s.xact_age_s = state_age + 1;
  s.query_age_s = query_age;
  s.query = "UPDATE accounts SET balance = balance - 1 WHERE id = 7";
  s.blocked_by = std::move(blocked_by);
  if (!s.blocked_by.empty()) s.wait_event_type = "Lock", s.wait_event = "transactionid";
  return s;
}

HealthSnapshot activity(std::vector<Session> sessions, int connections = 10) {
  return with([&](HealthSnapshot& s) { s.activity = ActivityReading{100, 3, connections, 2, std::move(sessions)}; });
}

IndexReading index_reading(double stats_age_s) {
  IndexReading x;
  x.stats_age_s = stats_age_s;
  x.stats_since = "2026-11-01 00:00 UTC";
  x.postmaster_start = "2026-11-01 00:00:00+00";
  return x;
}
IndexEntry index(const std::string& name, double bytes, double scans = 0) {
  IndexEntry e;
  e.index = "public." + name;
  e.table = "public.orders";
  e.definition = "CREATE INDEX " + name + " ON public.orders USING btree (customer_id)";
  e.bytes = bytes;
  e.scans = scans;
  return e;
}

Policy policy(const std::string& name, const std::string& using_expression, const std::string& command = "SELECT",
              std::vector<std::string> roles = {"authenticated"}) {
  return {"public.profiles", name, command, true, std::move(roles), using_expression, ""};
}

const std::vector<Case>& cases() {
  static const std::vector<Case> all = {
      {"HEALTH_TABLE_BLOAT",
       true,
       "70% of 1 GB",
       [] {
         return with([](auto& s) {
           s.table_bloat = {{"public.orders", 1024.0 * 1024 * 1024, 0.7 * 1024 * 1024 * 1024, false}};
         });
       },
       {},
       Severity::high},
      {"HEALTH_TABLE_BLOAT", false, "20% of 1 GB",
       [] {
         return with([](auto& s) {
           s.table_bloat = {{"public.orders", 1024.0 * 1024 * 1024, 0.2 * 1024 * 1024 * 1024, false}};
         });
       }},
      {"HEALTH_INDEX_BLOAT", true, "60% of 200 MB",
       [] {
         return with([](auto& s) {
           s.index_bloat = {{"public.orders_pkey", "public.orders", 200.0 * 1024 * 1024, 120.0 * 1024 * 1024}};
         });
       }},
      {"HEALTH_INDEX_BLOAT", false, "60% of 5 MB (below min_bloat_mb)",
       [] {
         return with([](auto& s) {
           s.index_bloat = {{"public.orders_pkey", "public.orders", 5.0 * 1024 * 1024, 3.0 * 1024 * 1024}};
         });
       }},
      {"HEALTH_DEAD_TUPLES",
       true,
       "40k dead of 100k",
       [] { return with([](auto& s) {
              s.vacuum = {{"public.orders", 60000, 40000, 0, "", "x", false}};
            }); },
       {},
       Severity::medium},
      {"HEALTH_DEAD_TUPLES", false, "500 dead",
       [] { return with([](auto& s) {
              s.vacuum = {{"public.orders", 60000, 500, 0, "", "x", false}};
            }); }},
      {"HEALTH_ANALYZE_STALE", true, "50k changed of 100k",
       [] { return with([](auto& s) {
              s.vacuum = {{"public.orders", 100000, 0, 50000, "x", "", false}};
            }); }},
      {"HEALTH_ANALYZE_STALE", false, "5k changed of 100k",
       [] { return with([](auto& s) {
              s.vacuum = {{"public.orders", 100000, 0, 5000, "x", "x", false}};
            }); }},
      {"HEALTH_AUTOVACUUM_DISABLED_TABLE", true, "autovacuum_enabled=false",
       [] { return with([](auto& s) {
              s.vacuum = {{"public.orders", 100, 0, 0, "", "", true}};
            }); }},
      {"HEALTH_AUTOVACUUM_DISABLED_TABLE", false, "autovacuum on",
       [] { return with([](auto& s) {
              s.vacuum = {{"public.orders", 100, 0, 0, "", "", false}};
            }); }},
      {"HEALTH_XID_WRAPAROUND",
       true,
       "age 1.6 billion",
       [] {
         return with([](auto& s) {
           s.wraparound = WraparoundReading{{{"database app", "", 1.6e9, 1000}}, {}, 2e8, 4e8};
         });
       },
       {},
       Severity::critical},
      {"HEALTH_XID_WRAPAROUND", false, "age 150 million",
       [] {
         return with([](auto& s) {
           s.wraparound = WraparoundReading{{{"database app", "", 1.5e8, 1000}}, {}, 2e8, 4e8};
         });
       }},
      {"HEALTH_MXID_WRAPAROUND",
       true,
       "mxid age 1.1 billion",
       [] {
         return with([](auto& s) {
           s.wraparound = WraparoundReading{{}, {{"public.orders", "public.orders", 1000, 1.1e9}}, 2e8, 4e8};
         });
       },
       {},
       Severity::high},
      {"HEALTH_MXID_WRAPAROUND", false, "mxid age 10 million",
       [] {
         return with([](auto& s) {
           s.wraparound = WraparoundReading{{}, {{"public.orders", "public.orders", 1000, 1e7}}, 2e8, 4e8};
         });
       }},
      {"HEALTH_CACHE_HIT_LOW", true, "80% of 10M",
       [] { return with([](auto& s) {
              s.cache = CacheReading{"app", 8e6, 2e6, 1e7, 1};
            }); }},
      {"HEALTH_CACHE_HIT_LOW", false, "99.5% of 10M",
       [] { return with([](auto& s) {
              s.cache = CacheReading{"app", 9.95e6, 5e4, 1e7, 1};
            }); }},
      {"HEALTH_INDEX_HIT_LOW", true, "50% of 4M",
       [] { return with([](auto& s) {
              s.cache = CacheReading{"app", 1e7, 1, 2e6, 2e6};
            }); }},
      {"HEALTH_INDEX_HIT_LOW", false, "50% of 1000 (too few)",
       [] { return with([](auto& s) {
              s.cache = CacheReading{"app", 1e7, 1, 500, 500};
            }); }},
      {"HEALTH_INDEX_INVALID", true, "one invalid",
       [] {
         return with([](auto& s) {
           s.indexes = index_reading(1e7);
           s.indexes->invalid = {index("orders_bad_idx", 8192)};
         });
       }},
      {"HEALTH_INDEX_INVALID", false, "none invalid",
       [] { return with([](auto& s) { s.indexes = index_reading(1e7); }); }},
      {"HEALTH_INDEX_UNUSED",
       true,
       "unused, statistics 30 days old",
       [] {
         return with([](auto& s) {
           s.indexes = index_reading(30 * 86400.0);
           s.indexes->unused = {index("orders_status_idx", 1e8)};
           s.indexes->unused_total = 1;
         });
       },
       {},
       Severity::low},
      {"HEALTH_INDEX_UNUSED",
       true,
       "unused, statistics 1 hour old: info",
       [] {
         return with([](auto& s) {
           s.indexes = index_reading(3600);
           s.indexes->unused = {index("orders_status_idx", 1e8)};
           s.indexes->unused_total = 1;
         });
       },
       {},
       Severity::info},
      {"HEALTH_INDEX_UNUSED", false, "no unused index",
       [] { return with([](auto& s) { s.indexes = index_reading(30 * 86400.0); }); }},
      {"HEALTH_INDEX_DUPLICATE", true, "two identical",
       [] {
         return with([](auto& s) {
           s.indexes = index_reading(1e7);
           s.indexes->duplicates = {{index("a_idx", 1e6, 10), index("b_idx", 1e6, 0)}};
         });
       }},
      {"HEALTH_INDEX_DUPLICATE", false, "the only copy besides a primary key is the key itself",
       [] {
         return with([](auto& s) {
           s.indexes = index_reading(1e7);
           IndexEntry pk = index("orders_pkey", 1e6, 10), constraint = index("orders_key", 1e6, 0);
           pk.primary = pk.unique = true;
           constraint.constraint = constraint.unique = true;
           s.indexes->duplicates = {{pk, constraint}};
         });
       }},
      {"HEALTH_SEQUENCE_NEAR_LIMIT",
       true,
       "int4 at 95%",
       [] {
         return with([](auto& s) {
           s.sequences = {{"public.orders_id_seq", "integer", "public.orders.id", "public.orders", "id", "integer",
                           0.95 * 2147483647, 2147483647, false}};
         });
       },
       {},
       Severity::high},
      {"HEALTH_SEQUENCE_NEAR_LIMIT", false, "int4 at 50%",
       [] {
         return with([](auto& s) {
           s.sequences = {{"public.orders_id_seq", "integer", "public.orders.id", "public.orders", "id", "integer",
                           0.5 * 2147483647, 2147483647, false}};
         });
       }},
      {"HEALTH_CONNECTIONS_HIGH", true, "96 of 100", [] { return activity({}, 96); }, {}, Severity::high},
      {"HEALTH_CONNECTIONS_HIGH", false, "50 of 100", [] { return activity({}, 50); }},
      {"HEALTH_IDLE_IN_TRANSACTION",
       true,
       "idle 20 min",
       [] { return activity({session(11, "idle in transaction", 1200, 1200)}); },
       {},
       Severity::high},
      {"HEALTH_IDLE_IN_TRANSACTION", false, "idle 1 s",
       [] { return activity({session(11, "idle in transaction", 1, 1)}); }},
      {"HEALTH_LONG_RUNNING_QUERY",
       true,
       "running 15 min",
       [] { return activity({session(12, "active", 900, 900)}); },
       {},
       Severity::medium},
      {"HEALTH_LONG_RUNNING_QUERY", false, "running 2 s", [] { return activity({session(12, "active", 2, 2)}); }},
      {"HEALTH_LOCK_BLOCKING",
       true,
       "13 waits 30 s on 11",
       [] {
         return activity({session(11, "idle in transaction", 40, 40), session(13, "active", 30, 30, {11})});
       },
       {},
       Severity::high},
      {"HEALTH_LOCK_BLOCKING",
       true,
       "six sessions behind one: critical",
       [] {
         std::vector<Session> v = {session(11, "idle in transaction", 40, 40)};
         for (int pid = 20; pid < 26; ++pid) v.push_back(session(pid, "active", 30, 30, {pid == 20 ? 11 : 20}));
         return activity(v);
       },
       {},
       Severity::critical},
      {"HEALTH_LOCK_BLOCKING", false, "waiting 0.2 s",
       [] {
         return activity({session(11, "idle in transaction", 40, 40), session(13, "active", 0.2, 0.2, {11})});
       }},
      {"HEALTH_REPLICATION_SLOT_WAL",
       true,
       "inactive slot with 5 GB",
       [] {
         return with([](auto& s) {
           s.replication = ReplicationReading{{{"old_replica", "physical", false, 5.0 * 1024 * 1024 * 1024}}, {}};
         });
       },
       {},
       Severity::high},
      {"HEALTH_REPLICATION_SLOT_WAL", false, "active slot with 16 MB",
       [] {
         return with([](auto& s) {
           s.replication = ReplicationReading{{{"replica1", "physical", true, 16.0 * 1024 * 1024}}, {}};
         });
       }},
      {"HEALTH_REPLICA_LAG", true, "5 min behind",
       [] {
         return with([](auto& s) {
           s.replication = ReplicationReading{{}, {{"replica1", "10.0.0.9", "streaming", 1e6, 300}}};
         });
       }},
      {"HEALTH_REPLICA_LAG", false, "50 ms behind",
       [] {
         return with([](auto& s) {
           s.replication = ReplicationReading{{}, {{"replica1", "10.0.0.9", "streaming", 1e4, 0.05}}};
         });
       }},
      {"HEALTH_CHECKPOINT_PRESSURE", true, "100 of 140 requested",
       [] {
         return with([](auto& s) {
           s.checkpoints = CheckpointReading{40, 60 + 40, 1e5, 1e5, 1e4, 0, 0, "2026-11-01 00:00 UTC", 1024};
         });
       }},
      {"HEALTH_CHECKPOINT_PRESSURE", false, "5 of 100 requested",
       [] {
         return with([](auto& s) {
           s.checkpoints = CheckpointReading{95, 5, 1e5, 1e5, 1e4, 0, 0, "2026-11-01 00:00 UTC", 1024};
         });
       }},
      {"HEALTH_BGWRITER_PRESSURE", true, "backends wrote 73% of 11M",
       [] {
         return with([](auto& s) {
           s.checkpoints = CheckpointReading{95, 5, 2e6, 1e6, 8e6, 10, 50, "2026-11-01 00:00 UTC", 1024};
         });
       }},
      {"HEALTH_BGWRITER_PRESSURE", false, "backends wrote 9% of 11M",
       [] {
         return with([](auto& s) {
           s.checkpoints = CheckpointReading{95, 5, 8e6, 2e6, 1e6, 0, 0, "2026-11-01 00:00 UTC", 1024};
         });
       }},
      {"HEALTH_SETTING_FSYNC_OFF",
       true,
       "fsync off",
       [] { return settings([](auto& m) { set(m, "fsync", "off"); }); },
       {},
       Severity::critical},
      {"HEALTH_SETTING_FSYNC_OFF", false, "fsync on", [] { return settings([](auto&) {}); }},
      {"HEALTH_SETTING_FULL_PAGE_WRITES_OFF", true, "off",
       [] { return settings([](auto& m) { set(m, "full_page_writes", "off"); }); }},
      {"HEALTH_SETTING_FULL_PAGE_WRITES_OFF", false, "on", [] { return settings([](auto&) {}); }},
      {"HEALTH_SETTING_AUTOVACUUM_OFF", true, "off",
       [] { return settings([](auto& m) { set(m, "autovacuum", "off"); }); }},
      {"HEALTH_SETTING_AUTOVACUUM_OFF", false, "on", [] { return settings([](auto&) {}); }},
      {"HEALTH_SETTING_SHARED_BUFFERS",
       true,
       "128MB of 16 GB",
       [] { return settings([](auto& m) { set(m, "shared_buffers", "128MB"); }); },
       {.ram_gb = 16}},
      {"HEALTH_SETTING_SHARED_BUFFERS", false, "4GB of 16 GB", [] { return settings([](auto&) {}); }, {.ram_gb = 16}},
      {"HEALTH_SETTING_SHARED_BUFFERS", false, "128MB, RAM unknown",
       [] { return settings([](auto& m) { set(m, "shared_buffers", "128MB"); }); }},
      {"HEALTH_SETTING_WORK_MEM_TOTAL",
       true,
       "256MB x 200 on 16 GB",
       [] { return settings([](auto& m) { set(m, "work_mem", "256MB"); }); },
       {.ram_gb = 16}},
      {"HEALTH_SETTING_WORK_MEM_TOTAL", true, "1GB x 200, RAM unknown",
       [] { return settings([](auto& m) { set(m, "work_mem", "1GB"); }); }},
      {"HEALTH_SETTING_WORK_MEM_TOTAL",
       false,
       "16MB x 200 on 16 GB",
       [] { return settings([](auto&) {}); },
       {.ram_gb = 16}},
      {"HEALTH_SETTING_RANDOM_PAGE_COST_SSD",
       true,
       "4 on ssd",
       [] { return settings([](auto& m) { set(m, "random_page_cost", "4"); }); },
       {.storage = "ssd"}},
      {"HEALTH_SETTING_RANDOM_PAGE_COST_SSD",
       false,
       "4 on hdd",
       [] { return settings([](auto& m) { set(m, "random_page_cost", "4"); }); },
       {.storage = "hdd"}},
      {"HEALTH_SETTING_JIT_OLTP",
       true,
       "jit on, oltp",
       [] { return settings([](auto& m) { set(m, "jit", "on"); }); },
       {.workload = "oltp"}},
      {"HEALTH_SETTING_JIT_OLTP",
       false,
       "jit on, dw",
       [] { return settings([](auto& m) { set(m, "jit", "on"); }); },
       {.workload = "dw"}},
      {"HEALTH_RLS_INITPLAN", true, "auth.uid() per row",
       [] { return with([](auto& s) { s.policies = {policy("own rows", "(user_id = auth.uid())")}; }); }},
      {"HEALTH_RLS_INITPLAN", false, "(select auth.uid())",
       [] {
         return with([](auto& s) { s.policies = {policy("own rows", "(user_id = ( SELECT auth.uid() AS uid))")}; });
       }},
      {"HEALTH_RLS_MULTIPLE_PERMISSIVE", true, "two SELECT policies for authenticated",
       [] {
         return with([](auto& s) { s.policies = {policy("a", "(owner_id = 1)"), policy("b", "is_public", "ALL")}; });
       }},
      {"HEALTH_RLS_MULTIPLE_PERMISSIVE", false, "one per command",
       [] {
         return with([](auto& s) { s.policies = {policy("a", "(owner_id = 1)"), policy("b", "true", "INSERT")}; });
       }},
      {"HEALTH_FK_UNINDEXED",
       true,
       "order_items.product_id",
       [] {
         return with([](auto& s) {
           s.foreign_keys = {{"public.order_items", "order_items_product_id_fkey", "products", {"product_id"}, 5e5}};
         });
       },
       {},
       Severity::info},
      {"HEALTH_FK_UNINDEXED", false, "all indexed", [] { return with([](auto& s) { s.foreign_keys.emplace(); }); }},
  };
  return all;
}

const Case& case_named(const std::string& name) {
  for (const auto& c : cases())
    if (c.name == name) return c;
  throw std::runtime_error("no case " + name);
}

std::vector<std::string> shipped_health_ids() {
  std::vector<std::string> ids;
  for (const auto* rule : shipped_rules().rules_in(knowledge::Category::health)) ids.push_back(rule->id);
  return ids;
}

class EveryHealthRule : public ::testing::TestWithParam<std::string> {};

TEST_P(EveryHealthRule, FiresOnItsCaseAndStaysQuietOnTheOther) {
  const std::string id = GetParam();
  int firing = 0, quiet = 0;
  for (const auto& c : cases()) {
    if (c.rule_id != id) continue;
    SCOPED_TRACE(c.name);
    (c.fires ? firing : quiet)++;
    const HealthReport report = check_health(c.snapshot(), shipped_rules(), c.facts);
    const auto* hit = finding(report, id);
    EXPECT_EQ(hit != nullptr, c.fires) << "findings: " << ids_of(report);
    if (!hit) continue;
    EXPECT_EQ(hit->summary.find("{{"), std::string::npos) << hit->summary;
    EXPECT_EQ(hit->fix.find("{{"), std::string::npos) << hit->fix;
    EXPECT_FALSE(hit->fix.empty());
    EXPECT_FALSE(hit->numbers.empty()) << "a finding carries its evidence numbers";
    EXPECT_EQ(hit->title, shipped_rules().rule(id).title);
    if (c.severity) {
      EXPECT_EQ(knowledge::to_string(hit->severity), std::string(knowledge::to_string(*c.severity)));
    }
  }
  EXPECT_GT(firing, 0) << id << " has no case that makes it fire";
  EXPECT_GT(quiet, 0) << id << " has no case where it must stay quiet";
}

INSTANTIATE_TEST_SUITE_P(Shipped, EveryHealthRule, ::testing::ValuesIn(shipped_health_ids()),
                         [](const auto& info) { return info.param; });

TEST(HealthFixes, RlsFixWrapsTheCallInASubSelect) {
  const HealthReport r =
      check_health(with([](auto& s) {
                     s.policies = {policy("tenant rows", "(tenant_id = (current_setting('app.tenant'::text))::uuid)")};
                   }),
                   shipped_rules());
  const auto* f = finding(r, "HEALTH_RLS_INITPLAN");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->fix.find("ALTER POLICY \"tenant rows\" ON public.profiles USING ((tenant_id = ((select "
                        "current_setting('app.tenant'::text)))::uuid));"),
            std::string::npos)
      << f->fix;
}

TEST(HealthFixes, SequenceFixWidensTheColumnAndTheSequence) {
  const HealthReport r = check_health(case_named("int4 at 95%").snapshot(), shipped_rules());
  const auto* f = finding(r, "HEALTH_SEQUENCE_NEAR_LIMIT");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->fix.find("ALTER TABLE public.orders ALTER COLUMN id TYPE bigint;"), std::string::npos) << f->fix;
  EXPECT_NE(f->fix.find("ALTER SEQUENCE public.orders_id_seq AS bigint;"), std::string::npos) << f->fix;
}

TEST(HealthFixes, DuplicateKeepsTheScannedIndexAndDropsTheOther) {
  const HealthReport r = check_health(case_named("two identical").snapshot(), shipped_rules());
  const auto* f = finding(r, "HEALTH_INDEX_DUPLICATE");
  ASSERT_NE(f, nullptr);
  EXPECT_NE(f->fix.find("DROP INDEX CONCURRENTLY public.b_idx;"), std::string::npos) << f->fix;
  EXPECT_NE(f->summary.find("duplicates public.a_idx"), std::string::npos) << f->summary;
}

TEST(HealthSettings, SizesParseAsPostgresqlConfWritesThem) {
  const auto m = settings_from_text({{"shared_buffers", "1GB"}, {"work_mem", "4096"}, {"max_wal_size", "2GB"}});
  EXPECT_EQ(m.at("shared_buffers").setting, "131072");  // 8kB pages
  EXPECT_EQ(m.at("work_mem").setting, "4096");          // kB, the base unit
  EXPECT_EQ(m.at("max_wal_size").setting, "2048");      // MB
  EXPECT_THROW(settings_from_text({{"work_mem", "lots"}}), dbopt::Error);
}

TEST(HealthRuleCoverage, EveryCaseNamesAShippedHealthRule) {
  const auto ids = shipped_health_ids();
  const std::set<std::string> shipped(ids.begin(), ids.end());
  for (const auto& c : cases()) EXPECT_TRUE(shipped.contains(c.rule_id)) << c.rule_id;
  EXPECT_GE(ids.size(), 29u);
}

}  // namespace
}  // namespace dbopt::health

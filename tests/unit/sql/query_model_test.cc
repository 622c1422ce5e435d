#include "core/sql/query_model.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "core/common/error.h"

namespace dbopt::sql {
namespace {

// The first predicate on `column` (by name), or a test failure.
const Predicate& predicate_on(const QueryModel& model, const std::string& column) {
  for (const auto& predicate : model.predicates) {
    if (predicate.column.name == column) return predicate;
  }
  ADD_FAILURE() << "no predicate on " << column;
  static const Predicate kNone;
  return kNone;
}

const FunctionCall& function_named(const QueryModel& model, const std::string& name) {
  for (const auto& call : model.functions) {
    if (call.name == name) return call;
  }
  ADD_FAILURE() << "no call of " << name;
  static const FunctionCall kNone;
  return kNone;
}

const TableRef* table_named(const QueryModel& model, const std::string& name) {
  for (const auto& table : model.tables) {
    if (table.name == name) return &table;
  }
  return nullptr;
}

TEST(StatementKindTest, NamesTheKindOfEachStatement) {
  EXPECT_EQ(parse_query("SELECT 1").kind, StatementKind::select);
  EXPECT_EQ(parse_query("VALUES (1), (2)").kind, StatementKind::values);
  EXPECT_EQ(parse_query("INSERT INTO t VALUES (1)").kind, StatementKind::insert);
  EXPECT_EQ(parse_query("UPDATE t SET a = 1").kind, StatementKind::update);
  EXPECT_EQ(parse_query("DELETE FROM t").kind, StatementKind::delete_);
  EXPECT_EQ(parse_query("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE").kind, StatementKind::merge);
  EXPECT_EQ(parse_query("EXPLAIN SELECT 1").kind, StatementKind::explain);
  EXPECT_EQ(parse_query("SHOW work_mem").kind, StatementKind::show);
  EXPECT_EQ(parse_query("SET work_mem = '64MB'").kind, StatementKind::set);
  EXPECT_EQ(parse_query("CREATE TABLE t (id int)").kind, StatementKind::create_table);
  EXPECT_EQ(parse_query("CREATE TABLE t AS SELECT 1").kind, StatementKind::create_table_as);
  EXPECT_EQ(parse_query("CREATE MATERIALIZED VIEW v AS SELECT 1").kind, StatementKind::create_materialized_view);
  EXPECT_EQ(parse_query("CREATE VIEW v AS SELECT 1").kind, StatementKind::create_view);
  EXPECT_EQ(parse_query("CREATE INDEX ON t (a)").kind, StatementKind::create_index);
  EXPECT_EQ(parse_query("ALTER TABLE t ADD COLUMN b int").kind, StatementKind::alter_table);
  EXPECT_EQ(parse_query("DROP TABLE t").kind, StatementKind::drop);
  EXPECT_EQ(parse_query("TRUNCATE t").kind, StatementKind::truncate);
  EXPECT_EQ(parse_query("COPY t TO STDOUT").kind, StatementKind::copy);
  EXPECT_EQ(parse_query("VACUUM t").kind, StatementKind::vacuum);
  EXPECT_EQ(parse_query("ANALYZE t").kind, StatementKind::analyze);
  EXPECT_EQ(parse_query("BEGIN").kind, StatementKind::transaction);
  EXPECT_EQ(parse_query("DO $$ BEGIN END $$").kind, StatementKind::do_block);
  EXPECT_EQ(parse_query("CALL p()").kind, StatementKind::call);
  EXPECT_EQ(parse_query("LISTEN c").kind, StatementKind::listen);
  EXPECT_EQ(parse_query("NOTIFY c").kind, StatementKind::notify);
  const QueryModel sequence = parse_query("CREATE SEQUENCE s");
  EXPECT_EQ(sequence.kind, StatementKind::other);
  EXPECT_EQ(sequence.node_type, "CreateSeqStmt");
}

TEST(StatementKindTest, ToStringAndChangesRows) {
  EXPECT_STREQ(to_string(StatementKind::delete_), "delete");
  EXPECT_STREQ(to_string(StatementKind::create_index), "create_index");
  EXPECT_TRUE(changes_rows(StatementKind::insert));
  EXPECT_TRUE(changes_rows(StatementKind::merge));
  EXPECT_FALSE(changes_rows(StatementKind::select));
  EXPECT_FALSE(changes_rows(StatementKind::create_table));
}

TEST(QueryModelTest, KeepsTheTextAndTrimsIt) {
  const QueryModel model = parse_query("  SELECT 1;  \n");
  EXPECT_EQ(model.text, "SELECT 1");
  EXPECT_EQ(model.offset, 2u);
}

TEST(QueryModelTest, RejectsEmptyTextAndSeveralStatements) {
  EXPECT_THROW(parse_query(""), Error);
  EXPECT_THROW(parse_query("  -- just a comment\n"), Error);
  try {
    parse_query("SELECT 1; SELECT 2");
    FAIL() << "two statements were accepted";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::invalid_argument);
    EXPECT_NE(std::string(error.what()).find("found 2"), std::string::npos) << error.what();
    EXPECT_FALSE(error.fix().empty());
  }
}

TEST(TablesTest, RecordsSchemaAliasRoleAndJoin) {
  const QueryModel model = parse_query(
      "SELECT * FROM public.users u JOIN orders AS o ON o.user_id = u.id LEFT JOIN items i ON i.order_id = o.id, "
      "regions");
  ASSERT_EQ(model.tables.size(), 4u);
  const TableRef* users = table_named(model, "users");
  ASSERT_NE(users, nullptr);
  EXPECT_EQ(users->schema, "public");
  EXPECT_EQ(users->alias, "u");
  EXPECT_EQ(users->role, TableRole::read);
  EXPECT_EQ(users->join, JoinType::none);
  EXPECT_FALSE(users->is_cte);
  const TableRef* orders = table_named(model, "orders");
  ASSERT_NE(orders, nullptr);
  EXPECT_EQ(orders->schema, "");
  EXPECT_EQ(orders->alias, "o");
  EXPECT_EQ(orders->join, JoinType::inner);
  EXPECT_EQ(table_named(model, "items")->join, JoinType::left);
  EXPECT_EQ(table_named(model, "regions")->join, JoinType::none);
  EXPECT_EQ(table_named(model, "regions")->alias, "");
}

TEST(TablesTest, CrossRightAndFullJoins) {
  const QueryModel model = parse_query("SELECT * FROM a CROSS JOIN b RIGHT JOIN c ON c.x = b.x FULL JOIN d USING (x)");
  EXPECT_EQ(table_named(model, "b")->join, JoinType::cross);
  EXPECT_EQ(table_named(model, "c")->join, JoinType::right);
  EXPECT_EQ(table_named(model, "d")->join, JoinType::full);
}

TEST(TablesTest, WriteTargetsAndDdlTargets) {
  const QueryModel update = parse_query("UPDATE accounts SET balance = 0 FROM users WHERE users.id = accounts.user_id");
  EXPECT_EQ(table_named(update, "accounts")->role, TableRole::written);
  EXPECT_EQ(table_named(update, "users")->role, TableRole::read);

  const QueryModel alter =
      parse_query("ALTER TABLE shop.orders ADD CONSTRAINT fk FOREIGN KEY (user_id) REFERENCES shop.users (id)");
  ASSERT_NE(table_named(alter, "orders"), nullptr);
  EXPECT_EQ(table_named(alter, "orders")->role, TableRole::defined);
  EXPECT_EQ(table_named(alter, "orders")->schema, "shop");
  ASSERT_NE(table_named(alter, "users"), nullptr);
  EXPECT_EQ(table_named(alter, "users")->role, TableRole::referenced);

  const QueryModel drop = parse_query("DROP TABLE IF EXISTS s.a, b");
  ASSERT_EQ(drop.tables.size(), 2u);
  EXPECT_EQ(drop.tables[0].schema, "s");
  EXPECT_EQ(drop.tables[0].name, "a");
  EXPECT_EQ(drop.tables[1].role, TableRole::defined);

  const QueryModel truncate = parse_query("TRUNCATE logs");
  EXPECT_EQ(table_named(truncate, "logs")->role, TableRole::written);
}

TEST(ColumnsTest, ResolvesQualifiedColumnsThroughAliases) {
  const QueryModel model = parse_query("SELECT u.email, o.total FROM users u JOIN orders o ON o.user_id = u.id");
  ASSERT_GE(model.columns.size(), 4u);
  const auto email = std::find_if(model.columns.begin(), model.columns.end(),
                                  [](const ColumnUse& use) { return use.column.name == "email"; });
  ASSERT_NE(email, model.columns.end());
  EXPECT_EQ(email->column.table, "users");
  EXPECT_EQ(email->column.qualifier, "u");
  EXPECT_EQ(email->clause, Clause::select_list);
  EXPECT_TRUE(email->column.resolved());
}

TEST(ColumnsTest, ResolvesUnqualifiedColumnsOnlyWhenOneRelationIsRead) {
  const QueryModel single = parse_query("SELECT email FROM app.users WHERE id = 1");
  for (const auto& use : single.columns) {
    EXPECT_EQ(use.column.table, "users") << use.column.name;
    EXPECT_EQ(use.column.schema, "app");
  }
  const QueryModel joined = parse_query("SELECT email FROM users u JOIN orders o ON o.user_id = u.id");
  const auto email = std::find_if(joined.columns.begin(), joined.columns.end(),
                                  [](const ColumnUse& use) { return use.column.name == "email"; });
  ASSERT_NE(email, joined.columns.end());
  EXPECT_FALSE(email->column.resolved());
  EXPECT_EQ(email->column.qualifier, "");
}

TEST(ColumnsTest, AnAliasHidesTheTableName) {
  const QueryModel model = parse_query("SELECT users.id FROM users u");
  ASSERT_EQ(model.columns.size(), 1u);
  EXPECT_FALSE(model.columns[0].column.resolved());
  const QueryModel schema_qualified = parse_query("SELECT app.users.id FROM app.users");
  EXPECT_EQ(schema_qualified.columns[0].column.table, "users");
  EXPECT_EQ(schema_qualified.columns[0].column.qualifier, "app.users");
  const QueryModel wrong_schema = parse_query("SELECT other.users.id FROM app.users");
  EXPECT_FALSE(wrong_schema.columns[0].column.resolved());
}

TEST(ColumnsTest, StarAndDerivedRelations) {
  const QueryModel model = parse_query("SELECT s.*, s.n FROM (SELECT count(*) AS n FROM t) s");
  const auto star = std::find_if(model.columns.begin(), model.columns.end(),
                                 [](const ColumnUse& use) { return use.column.name == "*"; });
  ASSERT_NE(star, model.columns.end());
  EXPECT_EQ(star->column.table, "s");
  EXPECT_TRUE(star->column.derived);
}

TEST(ColumnsTest, CorrelatedSubqueryColumnsResolveToTheOuterQuery) {
  const QueryModel model = parse_query(
      "SELECT * FROM users u WHERE EXISTS (SELECT 1 FROM orders o WHERE o.user_id = u.id AND status = 'open')");
  const Predicate& correlation = predicate_on(model, "user_id");
  EXPECT_EQ(correlation.scope, 1);
  ASSERT_TRUE(correlation.value.column.has_value());
  EXPECT_EQ(correlation.value.column->table, "users");
  EXPECT_EQ(predicate_on(model, "status").column.table, "orders");
  ASSERT_EQ(model.join_conditions.size(), 1u);
  EXPECT_EQ(model.join_conditions[0].scope, 1);
}

TEST(PredicatesTest, RecordsOperatorAndTheKindOfTheOtherSide) {
  const QueryModel model = parse_query(
      "SELECT * FROM t WHERE a = 1 AND b < $1 AND c >= 'x' AND d <> e AND f IN (1, 2, 3) AND g BETWEEN $2 AND 10 "
      "AND h LIKE 'ab%' AND i ILIKE $3 AND j IS NULL AND k IS NOT NULL AND l @> '{\"a\": 1}' AND m ? 'key' "
      "AND n && ARRAY[1, 2] AND o @@ to_tsquery('x') AND p ~~ 'x%' AND q = now() - interval '1 day'");
  EXPECT_EQ(predicate_on(model, "a").op, "=");
  EXPECT_EQ(predicate_on(model, "a").value.kind, Operand::Kind::constant);
  EXPECT_EQ(predicate_on(model, "a").value.text, "1");
  EXPECT_EQ(predicate_on(model, "b").op, "<");
  EXPECT_EQ(predicate_on(model, "b").value.kind, Operand::Kind::parameter);
  EXPECT_EQ(predicate_on(model, "b").value.parameter, 1);
  EXPECT_EQ(predicate_on(model, "c").op, ">=");
  EXPECT_EQ(predicate_on(model, "c").value.text, "'x'");
  EXPECT_EQ(predicate_on(model, "c").value.value, "x");
  EXPECT_EQ(predicate_on(model, "d").value.kind, Operand::Kind::column);
  EXPECT_EQ(predicate_on(model, "d").value.column->name, "e");
  const Predicate& in_list = predicate_on(model, "f");
  EXPECT_EQ(in_list.op, "IN");
  EXPECT_EQ(in_list.value.kind, Operand::Kind::list);
  ASSERT_EQ(in_list.value.items.size(), 3u);
  EXPECT_EQ(in_list.value.items[2].text, "3");
  const Predicate& between = predicate_on(model, "g");
  EXPECT_EQ(between.op, "BETWEEN");
  ASSERT_EQ(between.value.items.size(), 2u);
  EXPECT_EQ(between.value.items[0].kind, Operand::Kind::parameter);
  EXPECT_EQ(between.value.items[1].kind, Operand::Kind::constant);
  EXPECT_EQ(predicate_on(model, "h").op, "LIKE");
  EXPECT_EQ(predicate_on(model, "h").value.value, "ab%");
  EXPECT_EQ(predicate_on(model, "i").op, "ILIKE");
  EXPECT_EQ(predicate_on(model, "j").op, "IS NULL");
  EXPECT_EQ(predicate_on(model, "j").value.kind, Operand::Kind::none);
  EXPECT_EQ(predicate_on(model, "k").op, "IS NOT NULL");
  EXPECT_EQ(predicate_on(model, "l").op, "@>");
  EXPECT_EQ(predicate_on(model, "m").op, "?");
  EXPECT_EQ(predicate_on(model, "n").op, "&&");
  EXPECT_EQ(predicate_on(model, "n").value.kind, Operand::Kind::expression);
  EXPECT_EQ(predicate_on(model, "o").op, "@@");
  EXPECT_EQ(predicate_on(model, "p").op, "~~");
  const Predicate& expression = predicate_on(model, "q");
  EXPECT_EQ(expression.value.kind, Operand::Kind::expression);
  EXPECT_EQ(expression.value.text, "now() - '1 day'::interval");
  for (const auto& predicate : model.predicates) {
    EXPECT_EQ(predicate.clause, Clause::where);
    EXPECT_FALSE(predicate.under_or);
    EXPECT_TRUE(predicate.column_expression.empty()) << predicate.column.name;
  }
}

TEST(PredicatesTest, NegatedOperatorsAndSymmetricBetween) {
  const QueryModel model = parse_query(
      "SELECT * FROM t WHERE a NOT IN (1) AND b NOT LIKE 'x' AND c NOT ILIKE 'y' AND d NOT BETWEEN 1 AND 2 "
      "AND e BETWEEN SYMMETRIC 5 AND 1 AND f SIMILAR TO 'z' AND g IS DISTINCT FROM 1 AND h = ANY($1) "
      "AND i <> ALL(ARRAY[1]) AND j IS TRUE AND k IS NOT FALSE");
  EXPECT_EQ(predicate_on(model, "a").op, "NOT IN");
  EXPECT_EQ(predicate_on(model, "b").op, "NOT LIKE");
  EXPECT_EQ(predicate_on(model, "c").op, "NOT ILIKE");
  EXPECT_EQ(predicate_on(model, "d").op, "NOT BETWEEN");
  EXPECT_EQ(predicate_on(model, "e").op, "BETWEEN SYMMETRIC");
  EXPECT_EQ(predicate_on(model, "f").op, "SIMILAR TO");
  EXPECT_EQ(predicate_on(model, "f").value.value, "z");
  EXPECT_EQ(predicate_on(model, "g").op, "IS DISTINCT FROM");
  EXPECT_EQ(predicate_on(model, "h").op, "= ANY");
  EXPECT_EQ(predicate_on(model, "h").value.kind, Operand::Kind::parameter);
  EXPECT_EQ(predicate_on(model, "i").op, "<> ALL");
  EXPECT_EQ(predicate_on(model, "j").op, "IS TRUE");
  EXPECT_EQ(predicate_on(model, "k").op, "IS NOT FALSE");
}

TEST(PredicatesTest, ConstantsAndParametersSeenThroughCasts) {
  const QueryModel model = parse_query(
      "SELECT * FROM t WHERE a = '2024-01-01'::date AND b = $1::int AND c = CAST($2 AS text) AND d = -7 AND e = 0 "
      "AND f = 1.5 AND g = true AND h = NULL");
  EXPECT_EQ(predicate_on(model, "a").value.kind, Operand::Kind::constant);
  EXPECT_EQ(predicate_on(model, "a").value.text, "'2024-01-01'::date");
  EXPECT_EQ(predicate_on(model, "a").value.value, "2024-01-01");
  EXPECT_EQ(predicate_on(model, "b").value.kind, Operand::Kind::parameter);
  EXPECT_EQ(predicate_on(model, "b").value.parameter, 1);
  EXPECT_EQ(predicate_on(model, "c").value.parameter, 2);
  // libpg_query 15-4.0.0 drops zero and negative integers from its JSON; they are read back from the text.
  EXPECT_EQ(predicate_on(model, "d").value.text, "-7");
  EXPECT_EQ(predicate_on(model, "e").value.text, "0");
  EXPECT_EQ(predicate_on(model, "f").value.text, "1.5");
  EXPECT_EQ(predicate_on(model, "g").value.text, "true");
  EXPECT_EQ(predicate_on(model, "h").value.text, "NULL");
  EXPECT_EQ(model.parameter_count, 2);
}

TEST(PredicatesTest, ColumnOnTheRightIsCommuted) {
  const QueryModel model = parse_query("SELECT * FROM t WHERE 5 < a AND $1 = b AND 'x%' ~~ c AND '{1}' <@ d");
  EXPECT_EQ(predicate_on(model, "a").op, ">");
  EXPECT_EQ(predicate_on(model, "a").value.text, "5");
  EXPECT_FALSE(predicate_on(model, "a").reversed);
  EXPECT_EQ(predicate_on(model, "b").op, "=");
  EXPECT_EQ(predicate_on(model, "b").value.kind, Operand::Kind::parameter);
  EXPECT_EQ(predicate_on(model, "c").op, "~~");
  EXPECT_TRUE(predicate_on(model, "c").reversed);
  EXPECT_EQ(predicate_on(model, "d").op, "@>");
  EXPECT_FALSE(predicate_on(model, "d").reversed);
}

TEST(PredicatesTest, ExpressionsOnColumnsKeepTheirText) {
  const QueryModel model = parse_query(
      "SELECT * FROM users u WHERE lower(u.email) = $1 AND (attrs->>'k') = 'x' "
      "AND date_trunc('day', created_at) = '2024-01-01' AND created_at::date = CURRENT_DATE AND id = 3");
  const Predicate& lower = predicate_on(model, "email");
  EXPECT_EQ(lower.column.table, "users");
  EXPECT_EQ(lower.column_expression, "lower(u.email)");
  EXPECT_EQ(lower.unqualified_column_expression, "lower(email)");
  EXPECT_EQ(lower.value.kind, Operand::Kind::parameter);
  const Predicate& json_key = predicate_on(model, "attrs");
  EXPECT_EQ(json_key.column_expression, "attrs ->> 'k'");
  EXPECT_EQ(json_key.op, "=");
  const auto truncated = std::find_if(model.predicates.begin(), model.predicates.end(), [](const Predicate& p) {
    return p.column.name == "created_at" && p.column_expression.rfind("date_trunc", 0) == 0;
  });
  ASSERT_NE(truncated, model.predicates.end());
  EXPECT_EQ(truncated->column_expression, "date_trunc('day', created_at)");
  const auto cast = std::find_if(model.predicates.begin(), model.predicates.end(),
                                 [](const Predicate& p) { return p.column_expression == "created_at::date"; });
  ASSERT_NE(cast, model.predicates.end());
  EXPECT_EQ(cast->value.text, "CURRENT_DATE");
  EXPECT_TRUE(predicate_on(model, "id").column_expression.empty());
}

TEST(PredicatesTest, OrNotAndBareBooleans) {
  const QueryModel model = parse_query(
      "SELECT * FROM t WHERE active AND NOT deleted AND (x = 1 OR y = 2) AND NOT (z = 3) AND w NOT IN (SELECT 1)");
  const Predicate& active = predicate_on(model, "active");
  EXPECT_EQ(active.op, "=");
  EXPECT_EQ(active.value.text, "true");
  EXPECT_FALSE(active.negated);
  EXPECT_TRUE(predicate_on(model, "deleted").negated);
  EXPECT_TRUE(predicate_on(model, "x").under_or);
  EXPECT_TRUE(predicate_on(model, "y").under_or);
  EXPECT_FALSE(predicate_on(model, "x").negated);
  EXPECT_TRUE(predicate_on(model, "z").negated);
  EXPECT_FALSE(predicate_on(model, "z").under_or);
  const Predicate& not_in = predicate_on(model, "w");
  EXPECT_EQ(not_in.op, "NOT IN");
  EXPECT_FALSE(not_in.negated);
  EXPECT_EQ(not_in.value.kind, Operand::Kind::subquery);
  EXPECT_EQ(not_in.value.text, "(SELECT 1)");
  ASSERT_GE(not_in.value.subquery_scope, 1);
  EXPECT_EQ(model.scopes[static_cast<std::size_t>(not_in.value.subquery_scope)].kind, ScopeKind::expression_subquery);
}

TEST(PredicatesTest, NoPredicateWithoutAColumn) {
  const QueryModel model = parse_query("SELECT * FROM t WHERE 1 = 1 AND $1 = $2 AND now() > '2020-01-01'");
  EXPECT_TRUE(model.predicates.empty());
}

TEST(PredicatesTest, HavingAndJoinOnClauses) {
  const QueryModel model = parse_query(
      "SELECT o.user_id, count(*) FROM orders o JOIN users u ON u.id = o.user_id AND u.active "
      "GROUP BY o.user_id HAVING count(*) > 5 AND max(o.total) > 100");
  EXPECT_EQ(predicate_on(model, "id").clause, Clause::join_on);
  EXPECT_EQ(predicate_on(model, "active").clause, Clause::join_on);
  EXPECT_EQ(predicate_on(model, "total").clause, Clause::having);
  EXPECT_EQ(predicate_on(model, "total").column_expression, "max(o.total)");
}

TEST(JoinConditionsTest, FromOnUsingAndWhere) {
  const QueryModel model = parse_query(
      "SELECT * FROM orders o LEFT JOIN users u ON o.user_id = u.id JOIN items USING (order_id), regions r "
      "WHERE r.id = u.region_id AND o.total > 10");
  ASSERT_EQ(model.join_conditions.size(), 3u);
  const JoinCondition& on = model.join_conditions[0];
  EXPECT_EQ(on.left.table, "orders");
  EXPECT_EQ(on.left.name, "user_id");
  EXPECT_EQ(on.right.table, "users");
  EXPECT_EQ(on.op, "=");
  EXPECT_EQ(on.join, JoinType::left);
  EXPECT_EQ(on.clause, Clause::join_on);
  const JoinCondition& using_join = model.join_conditions[1];
  EXPECT_EQ(using_join.left.name, "order_id");
  EXPECT_FALSE(using_join.left.resolved());  // the left side is a join of two tables
  EXPECT_EQ(using_join.right.table, "items");
  const JoinCondition& implicit = model.join_conditions[2];
  EXPECT_EQ(implicit.clause, Clause::where);
  EXPECT_EQ(implicit.left.table, "regions");
  EXPECT_EQ(implicit.right.table, "users");
  EXPECT_TRUE(predicate_on(model, "user_id").is_join_condition());
  EXPECT_FALSE(predicate_on(model, "total").is_join_condition());
}

TEST(JoinConditionsTest, SelfJoinCountsSameColumnOfOneTableDoesNot) {
  const QueryModel self_join = parse_query("SELECT * FROM emp e JOIN emp m ON e.manager_id = m.id");
  ASSERT_EQ(self_join.join_conditions.size(), 1u);
  const QueryModel same_table = parse_query("SELECT * FROM emp WHERE emp.a = b");
  EXPECT_TRUE(same_table.join_conditions.empty());
  EXPECT_FALSE(predicate_on(same_table, "a").is_join_condition());
  const QueryModel under_or = parse_query("SELECT * FROM a, b WHERE a.x = b.x OR a.y = 1");
  EXPECT_TRUE(under_or.join_conditions.empty());
}

TEST(GroupAndOrderTest, ItemsWithDirectionNullsPositionAndAliases) {
  const QueryModel model = parse_query(
      "SELECT status, date_trunc('day', created_at) AS day, count(*) AS n FROM orders "
      "GROUP BY status, day, 3 ORDER BY n DESC NULLS LAST, status ASC, 2, lower(note) NULLS FIRST");
  ASSERT_EQ(model.group_by.size(), 3u);
  ASSERT_TRUE(model.group_by[0].expression.column.has_value());
  EXPECT_EQ(model.group_by[0].expression.column->table, "orders");
  EXPECT_EQ(model.group_by[1].expression.output_name, "day");
  EXPECT_FALSE(model.group_by[1].expression.column.has_value());
  EXPECT_EQ(model.group_by[2].expression.position, 3);

  ASSERT_EQ(model.order_by.size(), 4u);
  EXPECT_EQ(model.order_by[0].expression.output_name, "n");
  EXPECT_EQ(model.order_by[0].direction, SortDirection::desc);
  EXPECT_EQ(model.order_by[0].nulls, NullsOrder::last);
  EXPECT_EQ(model.order_by[1].direction, SortDirection::asc);
  EXPECT_EQ(model.order_by[1].nulls, NullsOrder::default_order);
  ASSERT_TRUE(model.order_by[1].expression.column.has_value());
  EXPECT_EQ(model.order_by[1].expression.column->name, "status");
  EXPECT_EQ(model.order_by[2].expression.position, 2);
  EXPECT_EQ(model.order_by[2].direction, SortDirection::default_order);
  EXPECT_EQ(model.order_by[3].expression.text, "lower(note)");
  EXPECT_FALSE(model.order_by[3].expression.column.has_value());
  EXPECT_EQ(model.order_by[3].nulls, NullsOrder::first);
}

TEST(GroupAndOrderTest, AliasNamingTheSameColumnIsTheColumn) {
  const QueryModel model = parse_query("SELECT status AS status FROM t GROUP BY status ORDER BY status");
  ASSERT_TRUE(model.group_by[0].expression.column.has_value());
  EXPECT_TRUE(model.group_by[0].expression.output_name.empty());
  ASSERT_TRUE(model.order_by[0].expression.column.has_value());
}

TEST(LimitTest, ConstantParameterAllAndNone) {
  const QueryModel constant = parse_query("SELECT * FROM t LIMIT 10 OFFSET 20");
  ASSERT_TRUE(constant.scopes[0].limit.has_value());
  EXPECT_EQ(constant.scopes[0].limit->kind, LimitValue::Kind::constant);
  EXPECT_EQ(constant.scopes[0].limit->value, 10);
  EXPECT_EQ(constant.scopes[0].offset->value, 20);

  const QueryModel parameter = parse_query("SELECT * FROM t LIMIT $1 OFFSET $2");
  EXPECT_EQ(parameter.scopes[0].limit->kind, LimitValue::Kind::parameter);
  EXPECT_EQ(parameter.scopes[0].limit->parameter, 1);
  EXPECT_EQ(parameter.scopes[0].offset->text, "$2");

  const QueryModel all = parse_query("SELECT * FROM t LIMIT ALL");
  EXPECT_EQ(all.scopes[0].limit->kind, LimitValue::Kind::all);

  const QueryModel fetch = parse_query("SELECT * FROM t ORDER BY a FETCH FIRST 5 ROWS WITH TIES");
  EXPECT_EQ(fetch.scopes[0].limit->value, 5);
  EXPECT_TRUE(fetch.scopes[0].with_ties);

  const QueryModel expression = parse_query("SELECT * FROM t LIMIT (SELECT 3)");
  EXPECT_EQ(expression.scopes[0].limit->kind, LimitValue::Kind::expression);

  const QueryModel none = parse_query("SELECT * FROM t");
  EXPECT_FALSE(none.scopes[0].limit.has_value());
  EXPECT_FALSE(none.scopes[0].offset.has_value());
  EXPECT_FALSE(none.scopes[0].with_ties);
}

TEST(FunctionsTest, NameSchemaArgumentsAndKinds) {
  const QueryModel model = parse_query(
      "SELECT count(*), max(DISTINCT a), pg_catalog.lower(b), row_number() OVER (ORDER BY c) "
      "FROM generate_series(1, 10) g WHERE coalesce(d, 0) > abs(e)");
  EXPECT_EQ(model.functions.size(), 6u);  // COALESCE is syntax, not a call
  const FunctionCall& star = function_named(model, "count");
  EXPECT_TRUE(star.star);
  EXPECT_EQ(star.argument_count, 0);
  EXPECT_FALSE(star.distinct);
  EXPECT_EQ(star.clause, Clause::select_list);
  EXPECT_TRUE(function_named(model, "max").distinct);
  EXPECT_EQ(function_named(model, "max").argument_count, 1);
  EXPECT_EQ(function_named(model, "lower").schema, "pg_catalog");
  EXPECT_EQ(function_named(model, "abs").schema, "");
  EXPECT_TRUE(function_named(model, "row_number").window);
  EXPECT_FALSE(function_named(model, "lower").window);
  EXPECT_EQ(function_named(model, "generate_series").clause, Clause::from);
  EXPECT_EQ(function_named(model, "generate_series").argument_count, 2);
  EXPECT_EQ(function_named(model, "abs").clause, Clause::where);
  EXPECT_EQ(function_named(model, "abs").scope, 0);
}

TEST(ScopesTest, SubqueriesAndCtesAreWalkedAndTagged) {
  const QueryModel model = parse_query(
      "WITH recent AS (SELECT * FROM orders WHERE created_at > now() - interval '7 days') "
      "SELECT * FROM recent r JOIN (SELECT id FROM users WHERE active) u ON u.id = r.user_id "
      "WHERE r.total > (SELECT avg(total) FROM orders)");
  ASSERT_EQ(model.scopes.size(), 4u);
  EXPECT_EQ(model.scopes[0].kind, ScopeKind::statement);
  EXPECT_EQ(model.scopes[1].kind, ScopeKind::cte);
  EXPECT_EQ(model.scopes[1].name, "recent");
  EXPECT_EQ(model.scopes[1].parent, 0);
  EXPECT_EQ(model.scopes[2].kind, ScopeKind::from_subquery);
  EXPECT_EQ(model.scopes[2].name, "u");
  EXPECT_EQ(model.scopes[3].kind, ScopeKind::expression_subquery);
  EXPECT_EQ(model.scopes[3].clause, Clause::where);

  const TableRef* recent = table_named(model, "recent");
  ASSERT_NE(recent, nullptr);
  EXPECT_TRUE(recent->is_cte);
  EXPECT_EQ(recent->scope, 0);
  ASSERT_EQ(model.tables_in(1).size(), 1u);
  EXPECT_EQ(model.tables_in(1)[0]->name, "orders");
  EXPECT_EQ(model.tables_in(2)[0]->name, "users");
  EXPECT_EQ(model.tables_in(3)[0]->name, "orders");
  EXPECT_EQ(predicate_on(model, "created_at").scope, 1);
  EXPECT_EQ(predicate_on(model, "active").scope, 2);
  EXPECT_EQ(predicate_on(model, "total").value.kind, Operand::Kind::subquery);
  EXPECT_EQ(predicate_on(model, "total").value.subquery_scope, 3);
  EXPECT_EQ(model.predicates_in(0).size(), 2u);  // the join and r.total > (...)

  ASSERT_EQ(model.ctes.size(), 1u);
  EXPECT_EQ(model.ctes[0].name, "recent");
  EXPECT_EQ(model.ctes[0].scope, 1);
  EXPECT_FALSE(model.ctes[0].data_modifying);
  EXPECT_FALSE(model.has_data_modifying_cte());
  // r.user_id resolves to the CTE, u.id to the subquery
  ASSERT_EQ(model.join_conditions.size(), 1u);
  EXPECT_TRUE(model.join_conditions[0].left.derived);
  EXPECT_EQ(model.join_conditions[0].left.table, "u");
  EXPECT_EQ(model.join_conditions[0].right.table, "recent");
}

TEST(ScopesTest, DataModifyingAndRecursiveCtes) {
  const QueryModel model = parse_query(
      "WITH RECURSIVE tree AS (SELECT id FROM nodes WHERE parent IS NULL UNION ALL "
      "SELECT n.id FROM nodes n JOIN tree t ON n.parent = t.id), "
      "gone AS MATERIALIZED (DELETE FROM logs WHERE ts < $1 RETURNING id) SELECT * FROM tree, gone");
  ASSERT_EQ(model.ctes.size(), 2u);
  EXPECT_TRUE(model.ctes[0].recursive);
  EXPECT_EQ(model.ctes[0].kind, StatementKind::select);
  EXPECT_TRUE(model.ctes[1].data_modifying);
  EXPECT_EQ(model.ctes[1].kind, StatementKind::delete_);
  EXPECT_EQ(model.ctes[1].materialized, "MATERIALIZED");
  EXPECT_TRUE(model.has_data_modifying_cte());
  EXPECT_EQ(table_named(model, "logs")->role, TableRole::written);
  // The recursive reference is to the CTE, in the UNION's second branch.
  const auto self_reference = std::find_if(model.tables.begin(), model.tables.end(), [](const TableRef& table) {
    return table.name == "tree" && table.scope > 0;
  });
  ASSERT_NE(self_reference, model.tables.end());
  EXPECT_TRUE(self_reference->is_cte);
  EXPECT_EQ(model.scopes[static_cast<std::size_t>(self_reference->scope)].kind, ScopeKind::set_operand);
  EXPECT_EQ(model.scopes[1].set_operation, "UNION ALL");
}

TEST(ScopesTest, UnionBranchesAndLateral) {
  const QueryModel model = parse_query("SELECT a FROM t1 UNION SELECT b FROM t2 ORDER BY 1 LIMIT 5");
  EXPECT_EQ(model.scopes[0].set_operation, "UNION");
  EXPECT_EQ(model.scopes[0].limit->value, 5);
  ASSERT_EQ(model.scopes.size(), 3u);
  EXPECT_EQ(model.tables_in(1)[0]->name, "t1");
  EXPECT_EQ(model.tables_in(2)[0]->name, "t2");

  const QueryModel lateral = parse_query(
      "SELECT * FROM users u, LATERAL (SELECT * FROM orders o WHERE o.user_id = u.id ORDER BY id DESC LIMIT 3) x");
  ASSERT_EQ(lateral.scopes.size(), 2u);
  EXPECT_TRUE(lateral.scopes[1].lateral);
  EXPECT_EQ(lateral.scopes[1].limit->value, 3);
  EXPECT_EQ(predicate_on(lateral, "user_id").value.column->table, "users");
  const QueryModel plain = parse_query("SELECT * FROM (SELECT 1) x");
  EXPECT_FALSE(plain.scopes[1].lateral);
}

TEST(LockingTest, StrengthWaitPolicyAndTables) {
  const QueryModel model = parse_query(
      "SELECT * FROM jobs j JOIN queues q ON q.id = j.queue_id "
      "FOR UPDATE OF j SKIP LOCKED");
  ASSERT_EQ(model.locking.size(), 1u);
  EXPECT_EQ(model.locking[0].strength, "FOR UPDATE");
  EXPECT_EQ(model.locking[0].wait_policy, "SKIP LOCKED");
  ASSERT_EQ(model.locking[0].tables.size(), 1u);
  EXPECT_EQ(model.locking[0].tables[0], "j");
  const QueryModel share = parse_query("SELECT * FROM t FOR KEY SHARE NOWAIT");
  EXPECT_EQ(share.locking[0].strength, "FOR KEY SHARE");
  EXPECT_EQ(share.locking[0].wait_policy, "NOWAIT");
  EXPECT_TRUE(share.locking[0].tables.empty());
  EXPECT_TRUE(parse_query("SELECT * FROM t").locking.empty());
}

TEST(SelectIntoTest, RecordsTheNewTable) {
  const QueryModel model = parse_query("SELECT * INTO archive.old_orders FROM orders");
  ASSERT_TRUE(model.select_into.has_value());
  EXPECT_EQ(model.select_into->schema, "archive");
  EXPECT_EQ(model.select_into->name, "old_orders");
  EXPECT_EQ(model.select_into->role, TableRole::written);
  EXPECT_EQ(model.kind, StatementKind::select);
  EXPECT_FALSE(parse_query("SELECT * FROM orders").select_into.has_value());
}

TEST(ExplainTest, OptionsAnalyzeAndTheExplainedStatement) {
  const QueryModel model = parse_query("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) SELECT * FROM t WHERE a = 1");
  ASSERT_TRUE(model.explain.has_value());
  EXPECT_TRUE(model.explain->analyze);
  EXPECT_EQ(model.explain->target_kind, StatementKind::select);
  ASSERT_EQ(model.explain->options.size(), 3u);
  EXPECT_EQ(model.explain->options[2].name, "format");
  EXPECT_EQ(model.explain->options[2].value, "json");
  EXPECT_EQ(predicate_on(model, "a").column.table, "t");

  EXPECT_FALSE(parse_query("EXPLAIN SELECT 1").explain->analyze);
  EXPECT_FALSE(parse_query("EXPLAIN (ANALYZE false) SELECT 1").explain->analyze);
  EXPECT_FALSE(parse_query("EXPLAIN (ANALYZE off) SELECT 1").explain->analyze);
  EXPECT_FALSE(parse_query("EXPLAIN (ANALYZE 0) SELECT 1").explain->analyze);
  EXPECT_TRUE(parse_query("EXPLAIN (ANALYZE on) SELECT 1").explain->analyze);
  EXPECT_TRUE(parse_query("EXPLAIN ANALYZE VERBOSE DELETE FROM t").explain->analyze);
  EXPECT_EQ(parse_query("EXPLAIN DELETE FROM t").explain->target_kind, StatementKind::delete_);
  EXPECT_FALSE(parse_query("SELECT 1").explain.has_value());
}

TEST(WritesTest, InsertUpdateDeleteMerge) {
  const QueryModel insert = parse_query(
      "INSERT INTO app.t AS x (a, b) SELECT a, b FROM staging WHERE ok ON CONFLICT (a) DO UPDATE SET b = EXCLUDED.b "
      "RETURNING x.id");
  EXPECT_EQ(table_named(insert, "t")->role, TableRole::written);
  EXPECT_EQ(table_named(insert, "staging")->scope, 1);
  EXPECT_EQ(insert.scopes[1].kind, ScopeKind::source_query);
  const auto inserted = std::count_if(insert.columns.begin(), insert.columns.end(), [](const ColumnUse& use) {
    return use.clause == Clause::insert_columns && use.column.table == "t";
  });
  EXPECT_EQ(inserted, 2);
  EXPECT_EQ(predicate_on(insert, "ok").column.table, "staging");

  const QueryModel update = parse_query("UPDATE t SET a = a + 1 WHERE id = $1");
  EXPECT_EQ(predicate_on(update, "id").column.table, "t");
  const auto set = std::find_if(update.columns.begin(), update.columns.end(),
                                [](const ColumnUse& use) { return use.clause == Clause::set; });
  ASSERT_NE(set, update.columns.end());
  EXPECT_EQ(set->column.table, "t");

  const QueryModel remove = parse_query("DELETE FROM t USING u WHERE t.uid = u.id AND u.gone");
  EXPECT_EQ(remove.join_conditions.size(), 1u);
  EXPECT_EQ(table_named(remove, "u")->role, TableRole::read);

  const QueryModel merge = parse_query(
      "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED AND s.gone THEN DELETE "
      "WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id)");
  EXPECT_EQ(table_named(merge, "t")->role, TableRole::written);
  EXPECT_EQ(table_named(merge, "s")->role, TableRole::read);
  ASSERT_EQ(merge.join_conditions.size(), 1u);
  EXPECT_EQ(merge.join_conditions[0].clause, Clause::join_on);
}

TEST(IndexDefinitionTest, KeysExpressionsIncludeAndPredicate) {
  const QueryModel model = parse_query(
      "CREATE UNIQUE INDEX CONCURRENTLY ix_users_email ON app.users USING btree "
      "(lower(email), created_at DESC NULLS LAST, name text_pattern_ops) INCLUDE (id) WHERE deleted_at IS NULL");
  ASSERT_TRUE(model.index.has_value());
  const IndexDefinition& index = *model.index;
  EXPECT_EQ(index.name, "ix_users_email");
  EXPECT_EQ(index.schema, "app");
  EXPECT_EQ(index.table, "users");
  EXPECT_EQ(index.method, "btree");
  EXPECT_TRUE(index.unique);
  EXPECT_TRUE(index.concurrently);
  ASSERT_EQ(index.keys.size(), 3u);
  EXPECT_EQ(index.keys[0].expression, "lower(email)");
  EXPECT_TRUE(index.keys[0].column.empty());
  EXPECT_EQ(index.keys[1].column, "created_at");
  EXPECT_EQ(index.keys[1].direction, SortDirection::desc);
  EXPECT_EQ(index.keys[1].nulls, NullsOrder::last);
  EXPECT_EQ(index.keys[2].opclass, "text_pattern_ops");
  ASSERT_EQ(index.include.size(), 1u);
  EXPECT_EQ(index.include[0], "id");
  EXPECT_EQ(index.where, "deleted_at IS NULL");

  const QueryModel plain = parse_query("CREATE INDEX ON t USING gin (tags)");
  EXPECT_EQ(plain.index->name, "");
  EXPECT_EQ(plain.index->method, "gin");
  EXPECT_FALSE(plain.index->unique);
  EXPECT_FALSE(plain.index->concurrently);
  EXPECT_TRUE(plain.index->where.empty());
  EXPECT_FALSE(parse_query("SELECT 1").index.has_value());
}

TEST(QueryModelTest, ToStringNamesEveryEnum) {
  EXPECT_STREQ(to_string(Clause::join_on), "join_on");
  EXPECT_STREQ(to_string(ScopeKind::expression_subquery), "expression_subquery");
  EXPECT_STREQ(to_string(TableRole::referenced), "referenced");
  EXPECT_STREQ(to_string(JoinType::full), "full");
}

}  // namespace
}  // namespace dbopt::sql

// LinearClient: the few Linear GraphQL operations dbopt needs, over HTTPS.
//
// Authentication: a personal API key goes out as `Authorization: <key>`, an
// OAuth token as `Authorization: Bearer <token>` (the token wins when both are
// set). Neither is ever logged or put in an error message.
//
// Faults: rate limiting (HTTP 400 or 429 with errors[].extensions.code
// RATELIMITED) waits until X-RateLimit-Requests-Reset (or Retry-After), 5xx
// answers and timeouts back off exponentially; both a bounded number of
// times and never past the caller's deadline. GraphQL errors in an HTTP 200
// answer are errors. create_issue() never files twice: before it retries, it
// looks for the issue by the fingerprint line in its description.
//
// Every call takes the caller's CancellationToken: cancelling it aborts a
// request in flight, it is checked between attempts and while waiting, and
// each request's timeout is capped by the time left. Throws dbopt::Error: unavailable (Linear unreachable, rate limit
// outlasting the retries), permission_denied (bad key), not_found (team,
// label, project), invalid_argument (Linear refused the input),
// cancelled / deadline_exceeded. One client per call; not thread-safe.
#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/common/cancellation.h"
#include "core/common/settings.h"

namespace dbopt::linear {

struct ClientOptions {
  int max_attempts = 4;                                  // per operation, the first included
  std::chrono::milliseconds request_timeout{15000};      // per HTTP request, capped by the deadline
  std::chrono::milliseconds initial_backoff{250};        // 5xx / timeouts: doubles per attempt
  std::chrono::milliseconds max_rate_limit_wait{20000};  // longer resets are not waited for
};

struct WorkflowState {
  std::string id, name, type;  // type: triage, backlog, unstarted, started, completed, canceled
  double position = 0;
};
struct Label {
  std::string id, name;
};
struct Project {
  std::string id, name;
};
struct TeamSummary {
  std::string id, key, name;
};
struct Team {
  std::string id, key, name;
  std::vector<WorkflowState> states;  // by position
  std::vector<Label> labels;
  std::vector<Project> projects;
};

struct IssueInput {
  std::string team_id;
  std::string title;
  std::string description;      // markdown
  std::optional<int> priority;  // 0 none, 1 urgent, 2 high, 3 medium, 4 low
  std::vector<std::string> label_ids;
  std::optional<std::string> state_id, project_id, assignee_id;
  std::optional<int> estimate;
};

struct Issue {
  std::string id, identifier, title, url, description;
  int priority = 0;
  std::string state_name, state_type, team_key;
  std::string created_at, updated_at;
};

struct Comment {
  std::string id, url;
};

class LinearClient {
 public:
  // Throws Error(invalid_argument) when neither an API key nor an OAuth token is set.
  explicit LinearClient(const LinearSettings& settings, ClientOptions options = {});
  ~LinearClient();
  LinearClient(const LinearClient&) = delete;
  LinearClient& operator=(const LinearClient&) = delete;

  std::vector<TeamSummary> teams(const CancellationToken& cancel);
  // By key (PERF, case-insensitive) or id, with its states, labels and projects.
  // Throws not_found naming the teams the key can see.
  Team team(const std::string& key_or_id, const CancellationToken& cancel);
  Label create_label(const std::string& team_id, const std::string& name, const std::string& color,
                     const CancellationToken& cancel);

  // `fingerprint_line` must be a line of the description; it is how a retry
  // finds an issue an earlier, unanswered attempt already created.
  Issue create_issue(const IssueInput& input, const std::string& fingerprint_line, const CancellationToken& cancel);
  // Issues of the team whose description contains `text` (exact substring),
  // newest first; open ones only unless include_closed.
  std::vector<Issue> issues_containing(const std::string& team_id, const std::string& text, bool include_closed,
                                       int limit, const CancellationToken& cancel);
  // Linear's searchIssues (full text) restricted to the team.
  std::vector<Issue> search_issues(const std::string& team_id, const std::string& term, bool include_closed, int limit,
                                   const CancellationToken& cancel);
  Comment add_comment(const std::string& issue_id, const std::string& body, const CancellationToken& cancel);

  // Requests sent so far, retries included (for tests and logs).
  int requests_sent() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// True when a key or token is configured.
bool has_credentials(const LinearSettings& settings);
// The sentence telling a user how to configure Linear access.
std::string how_to_configure();

}  // namespace dbopt::linear

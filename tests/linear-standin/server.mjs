// A local stand-in for Linear's GraphQL API, for dbopt's tests.
//
// It builds its schema from Linear's published SDL (../shared/linear/schema.graphql
// beside the repository, or --schema / LINEAR_SCHEMA), validates every request
// document and its variables against it, and executes a small in-memory
// implementation of what dbopt uses: teams with workflow states, labels and
// projects; issues, issueCreate, searchIssues, commentCreate, issueLabelCreate.
// A request that is not valid for Linear's schema gets a GraphQL error AND is
// recorded as a violation, so a test can assert there were none.
//
// State and fault injection are per API key (each test uses its own key, so
// tests running in parallel do not see each other). Keys that start with
// "lin_api_" (personal keys, sent as `Authorization: <key>`) or OAuth tokens
// that start with "lin_oauth_" (sent as `Authorization: Bearer <token>`) are
// accepted; anything else gets Linear's authentication error.
//
// Control endpoint (tests only; no authentication; loopback only):
//   POST /_control/reset   {"key", "performance_label": bool}  fresh workspace for the key
//   POST /_control/faults  {"key", "faults": [{"kind": "ratelimited"|"ratelimited429"|"error500"|"hang"
//                           |"graphql_error", "field": "issueCreate" (optional: any operation),
//                           "count": 1, "after_execute": false, "reset_ms": 300}]}
//   POST /_control/set_state {"key", "identifier": "PERF-1", "state": "Done"}
//   GET  /_control/state?key=...  issues, comments, labels, violations, requests
//   GET  /_control/health
//
// Usage: node server.mjs [--host 127.0.0.1] [--port 54399] [--schema FILE]
import { createServer } from 'node:http';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import { buildSchema, execute, getOperationAST, parse, validate, GraphQLError } from 'graphql';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const option = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : fallback;
};
const host = option('host', '127.0.0.1');
const port = Number(option('port', process.env.DBOPT_TEST_LINEAR_PORT || 54399));
const schemaPath = option(
  'schema',
  process.env.LINEAR_SCHEMA || resolve(here, '../../../shared/linear/schema.graphql'),
);

const schema = buildSchema(readFileSync(schemaPath, 'utf8'));

// ---------------------------------------------------------------- workspace state

const workspaces = new Map(); // key -> workspace
let syncId = 1000;

function newWorkspace({ performanceLabel = true } = {}) {
  const now = new Date().toISOString();
  const user = { id: randomUUID(), name: 'Dana Engineer', email: 'dana@example.com', displayName: 'dana' };
  const makeTeam = (key, name, labelNames, projects) => {
    const team = { id: randomUUID(), key, name, nextNumber: 1, createdAt: now };
    const stateDefs = [
      ['Triage', 'triage'],
      ['Backlog', 'backlog'],
      ['Todo', 'unstarted'],
      ['In Progress', 'started'],
      ['Done', 'completed'],
      ['Canceled', 'canceled'],
    ];
    team.states = stateDefs.map(([n, type], position) => ({
      id: randomUUID(), name: n, type, position, color: '#bec2c8', team,
    }));
    team.labels = labelNames.map((n) => ({ id: randomUUID(), name: n, color: '#5e6ad2', team }));
    team.projects = projects.map((n) => ({ id: randomUUID(), name: n }));
    return team;
  };
  const perfLabels = performanceLabel ? ['performance', 'database'] : ['database'];
  const teams = [
    makeTeam('PERF', 'Performance', perfLabels, ['Q3 latency']),
    makeTeam('ENG', 'Engineering', ['bug'], []),
  ];
  return { teams, users: [user], viewer: user, issues: [], comments: [], faults: [], violations: [], requests: [] };
}

function workspaceFor(key) {
  if (!workspaces.has(key)) workspaces.set(key, newWorkspace());
  return workspaces.get(key);
}

// ---------------------------------------------------------------- GraphQL objects

const connection = (items) => ({ nodes: items, edges: items.map((node) => ({ node, cursor: node.id })),
  pageInfo: { hasNextPage: false, hasPreviousPage: false, startCursor: items[0]?.id ?? null, endCursor: items.at(-1)?.id ?? null } });

function page(items, args) {
  const first = args?.first ?? 50;
  return connection(items.slice(0, first));
}

function notFound(what) {
  return new GraphQLError(`Entity not found: ${what}`, {
    extensions: { code: 'INVALID_INPUT', type: 'invalid input', userError: true,
      userPresentableMessage: `Could not find referenced ${what}.` },
  });
}

function invalidInput(message) {
  return new GraphQLError(message, {
    extensions: { code: 'INVALID_INPUT', type: 'invalid input', userError: true, userPresentableMessage: message },
  });
}

function teamObject(ws, team) {
  return {
    id: team.id, key: team.key, name: team.name, createdAt: team.createdAt,
    states: (args) => page(filterItems(team.states.map(stateObject), args?.filter, 'WorkflowState'), args),
    labels: (args) => page(filterItems(team.labels.map(labelObject), args?.filter, 'IssueLabel'), args),
    projects: (args) => page(team.projects.map((p) => ({ ...p })), args),
    issues: (args) => page(filterIssues(ws, ws.issues.filter((i) => i.team === team), args?.filter).map((i) => issueObject(ws, i)), args),
  };
}
const stateObject = (s) => ({ id: s.id, name: s.name, type: s.type, position: s.position, color: s.color });
const labelObject = (l) => ({ id: l.id, name: l.name, color: l.color });
const userObject = (u) => ({ ...u });

function issueObject(ws, issue) {
  return {
    id: issue.id, identifier: issue.identifier, number: issue.number, title: issue.title,
    description: issue.description, priority: issue.priority, estimate: issue.estimate,
    priorityLabel: ['No priority', 'Urgent', 'High', 'Medium', 'Low'][issue.priority],
    url: issue.url, createdAt: issue.createdAt, updatedAt: issue.updatedAt, archivedAt: null,
    state: stateObject(issue.state), team: teamObject(ws, issue.team),
    labels: (args) => page(issue.labels.map(labelObject), args),
    project: issue.project ? { ...issue.project } : null,
    assignee: issue.assignee ? userObject(issue.assignee) : null,
    comments: (args) => page(ws.comments.filter((c) => c.issue === issue).map((c) => commentObject(ws, c)), args),
  };
}

function commentObject(ws, c) {
  return { id: c.id, body: c.body, url: c.url, createdAt: c.createdAt, updatedAt: c.createdAt,
    issue: issueObject(ws, c.issue) };
}

// ---------------------------------------------------------------- filters (the subset dbopt uses)

function compare(value, comparator, path) {
  for (const [op, expected] of Object.entries(comparator)) {
    const v = value ?? null;
    const s = v === null ? '' : String(v);
    switch (op) {
      case 'eq': if (v !== expected) return false; break;
      case 'neq': if (v === expected) return false; break;
      case 'in': if (!expected.includes(v)) return false; break;
      case 'nin': if (expected.includes(v)) return false; break;
      case 'eqIgnoreCase': if (s.toLowerCase() !== String(expected).toLowerCase()) return false; break;
      case 'contains': if (!s.includes(expected)) return false; break;
      case 'containsIgnoreCase': if (!s.toLowerCase().includes(String(expected).toLowerCase())) return false; break;
      case 'notContains': if (s.includes(expected)) return false; break;
      case 'startsWith': if (!s.startsWith(expected)) return false; break;
      case 'null': if ((v === null) !== expected) return false; break;
      default: throw invalidInput(`The Linear stand-in does not implement comparator ${path}.${op}`);
    }
  }
  return true;
}

// filter: an IssueFilter / TeamFilter / WorkflowStateFilter / IssueLabelFilter subset.
function matches(item, filter, kind, path = kind) {
  if (!filter) return true;
  for (const [field, sub] of Object.entries(filter)) {
    const p = `${path}.${field}`;
    if (field === 'and') { if (!sub.every((f) => matches(item, f, kind, p))) return false; continue; }
    if (field === 'or') { if (!sub.some((f) => matches(item, f, kind, p))) return false; continue; }
    if (kind === 'Issue' && field === 'team') { if (!matches(item.team, sub, 'Team', p)) return false; continue; }
    if (kind === 'Issue' && field === 'state') { if (!matches(item.state, sub, 'WorkflowState', p)) return false; continue; }
    if (kind === 'Issue' && field === 'labels') {
      // IssueLabelCollectionFilter: some / every / none, or the label fields directly (some).
      const { some, every, none, ...direct } = sub;
      if (some && !item.labels.some((l) => matches(l, some, 'IssueLabel', p))) return false;
      if (every && !item.labels.every((l) => matches(l, every, 'IssueLabel', p))) return false;
      if (none && item.labels.some((l) => matches(l, none, 'IssueLabel', p))) return false;
      if (Object.keys(direct).length && !item.labels.some((l) => matches(l, direct, 'IssueLabel', p))) return false;
      continue;
    }
    const scalarFields = {
      Issue: ['id', 'title', 'description', 'priority', 'number'],
      Team: ['id', 'key', 'name'],
      WorkflowState: ['id', 'name', 'type'],
      IssueLabel: ['id', 'name'],
    }[kind];
    if (!scalarFields?.includes(field)) throw invalidInput(`The Linear stand-in does not implement filter ${p}`);
    if (!compare(item[field], sub, p)) return false;
  }
  return true;
}

const filterItems = (items, filter, kind) => items.filter((i) => matches(i, filter, kind));
const filterIssues = (ws, issues, filter) => issues.filter((i) => matches(i, filter, 'Issue'));

// ---------------------------------------------------------------- resolvers

function root(ws) {
  const findTeam = (id) => {
    const team = ws.teams.find((t) => t.id === id);
    if (!team) throw notFound('Team');
    return team;
  };
  const payload = (extra) => ({ success: true, lastSyncId: ++syncId, ...extra });
  return {
    viewer: () => userObject(ws.viewer),
    teams: (args) => page(filterItems(ws.teams, args.filter, 'Team').map((t) => teamObject(ws, t)), args),
    team: ({ id }) => teamObject(ws, findTeam(id)),
    issue: ({ id }) => {
      const issue = ws.issues.find((i) => i.id === id || i.identifier === id);
      if (!issue) throw notFound('Issue');
      return issueObject(ws, issue);
    },
    issues: (args) => page(filterIssues(ws, [...ws.issues].reverse(), args.filter).map((i) => issueObject(ws, i)), args),
    searchIssues: (args) => {
      // Full-text-ish: every word of the term in the title or description.
      const words = args.term.toLowerCase().split(/\s+/).filter(Boolean);
      let found = ws.issues.filter((i) => words.every((w) => `${i.title}\n${i.description ?? ''}`.toLowerCase().includes(w)));
      if (args.teamId) found.sort((a, b) => (b.team.id === args.teamId) - (a.team.id === args.teamId));
      found = filterIssues(ws, found, args.filter);
      const result = page(found.map((i) => ({ ...issueObject(ws, i), metadata: {} })), args);
      return { ...result, totalCount: found.length, archivePayload: { success: true, lastSyncId: syncId } };
    },
    issueCreate: ({ input }) => {
      const team = findTeam(input.teamId);
      if (input.priority !== undefined && input.priority !== null && (input.priority < 0 || input.priority > 4))
        throw invalidInput('priority must be between 0 and 4');
      const state = input.stateId
        ? team.states.find((s) => s.id === input.stateId)
        : team.states.find((s) => s.type === 'backlog');
      if (!state) throw notFound('WorkflowState');
      const labels = (input.labelIds ?? []).map((id) => {
        const l = team.labels.find((x) => x.id === id);
        if (!l) throw notFound('IssueLabel');
        return l;
      });
      let project = null;
      if (input.projectId) {
        project = team.projects.find((p) => p.id === input.projectId);
        if (!project) throw notFound('Project');
      }
      let assignee = null;
      if (input.assigneeId) {
        assignee = ws.users.find((u) => u.id === input.assigneeId);
        if (!assignee) throw notFound('User');
      }
      const number = team.nextNumber++;
      const identifier = `${team.key}-${number}`;
      const now = new Date().toISOString();
      const issue = {
        id: input.id ?? randomUUID(), identifier, number, title: input.title ?? '', description: input.description ?? null,
        priority: input.priority ?? 0, estimate: input.estimate ?? null, team, state, labels, project, assignee,
        url: `https://linear.app/dbopt-test/issue/${identifier}`, createdAt: now, updatedAt: now,
      };
      ws.issues.push(issue);
      return payload({ issue: issueObject(ws, issue) });
    },
    commentCreate: ({ input }) => {
      const issue = ws.issues.find((i) => i.id === input.issueId || i.identifier === input.issueId);
      if (!issue) throw notFound('Issue');
      const comment = { id: randomUUID(), body: input.body ?? '', issue, createdAt: new Date().toISOString() };
      comment.url = `${issue.url}#comment-${comment.id.slice(0, 8)}`;
      ws.comments.push(comment);
      issue.updatedAt = comment.createdAt;
      return payload({ comment: commentObject(ws, comment) });
    },
    issueLabelCreate: ({ input }) => {
      const team = input.teamId ? findTeam(input.teamId) : null;
      if (!team) throw invalidInput('The stand-in only creates team labels: give teamId');
      if (team.labels.some((l) => l.name.toLowerCase() === input.name.toLowerCase()))
        throw invalidInput(`A label named ${input.name} already exists`);
      const label = { id: randomUUID(), name: input.name, color: input.color ?? '#5e6ad2', team };
      team.labels.push(label);
      return payload({ issueLabel: labelObject(label) });
    },
  };
}

// ---------------------------------------------------------------- HTTP

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

const graphqlErrors = (status, message, extensions, headers) => [status, { errors: [{ message, extensions }] }, headers];

function authenticate(header) {
  if (!header) return null;
  if (header.startsWith('Bearer ')) {
    const token = header.slice(7);
    return token.startsWith('lin_oauth_') ? token : null;
  }
  return header.startsWith('lin_api_') ? header : null;
}

const authError = () => graphqlErrors(400, 'Authentication required, not authenticated', {
  type: 'authentication error', code: 'AUTHENTICATION_ERROR', statusCode: 401, userError: true,
  userPresentableMessage: 'You need to authenticate to access this operation.',
});

function rateLimitHeaders(resetMs) {
  return {
    'X-RateLimit-Requests-Limit': '2500',
    'X-RateLimit-Requests-Remaining': resetMs === undefined ? '2499' : '0',
    'X-RateLimit-Requests-Reset': String(Date.now() + (resetMs ?? 3600000)),
  };
}

// The root fields an operation selects (for fault matching and the request log).
function rootFields(operation) {
  return operation.selectionSet.selections.filter((s) => s.kind === 'Field').map((s) => s.name.value);
}

function takeFault(ws, fields) {
  const at = ws.faults.findIndex((f) => !f.field || fields.includes(f.field));
  if (at < 0) return null;
  const fault = ws.faults[at];
  fault.count = (fault.count ?? 1) - 1;
  if (fault.count <= 0) ws.faults.splice(at, 1);
  return fault;
}

function faultAnswer(fault) {
  switch (fault.kind) {
    case 'ratelimited':
    case 'ratelimited429':
      return graphqlErrors(fault.kind === 'ratelimited' ? 400 : 429, 'Rate limit exceeded', {
        type: 'ratelimited', code: 'RATELIMITED', userError: true,
        userPresentableMessage: 'Too many API requests. Please try again later.',
      }, rateLimitHeaders(fault.reset_ms ?? 300));
    case 'error500':
      return [500, { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] }];
    case 'graphql_error':
      return graphqlErrors(200, 'Something went wrong on our side', { code: 'INTERNAL_ERROR', type: 'internal error' });
    default:
      throw new Error(`unknown fault kind ${fault.kind}`);
  }
}

async function handleGraphql(req, res, body) {
  const key = authenticate(req.headers.authorization);
  if (!key) return send(res, ...authError());
  const ws = workspaceFor(key);
  let request;
  try {
    request = JSON.parse(body);
  } catch {
    ws.violations.push({ message: 'request body is not JSON' });
    return send(res, 400, { errors: [{ message: 'Body is not JSON', extensions: { code: 'BAD_REQUEST' } }] });
  }
  const violation = (message) => {
    ws.violations.push({ message, query: request.query, variables: request.variables });
    return send(res, 400, { errors: [{ message, extensions: { code: 'GRAPHQL_VALIDATION_FAILED', type: 'graphql error', userError: true } }] });
  };
  let document;
  try {
    document = parse(request.query ?? '');
  } catch (e) {
    return violation(`Syntax error: ${e.message}`);
  }
  const errors = validate(schema, document);
  if (errors.length) return violation(errors.map((e) => e.message).join('; '));
  const operation = getOperationAST(document, request.operationName);
  if (!operation) return violation('Cannot pick the operation: give operationName');
  const fields = rootFields(operation);
  ws.requests.push({ operation: operation.name?.value ?? null, fields });

  // Like Linear: until the reset, every request of a limited key is limited again.
  if (Date.now() < (ws.limitedUntil ?? 0)) {
    ws.early_retries = (ws.early_retries ?? 0) + 1;
    return send(res, ...faultAnswer({ kind: 'ratelimited', reset_ms: ws.limitedUntil - Date.now() }));
  }
  const fault = takeFault(ws, fields);
  if (fault?.kind.startsWith('ratelimited')) ws.limitedUntil = Date.now() + (fault.reset_ms ?? 300);
  const hang = () => {
    // Never answer; drop the socket after a minute so nothing leaks.
    setTimeout(() => res.destroy(), 60000).unref();
  };
  if (fault && !fault.after_execute) return fault.kind === 'hang' ? hang() : send(res, ...faultAnswer(fault));
  const result = await execute({ schema, document, rootValue: root(ws), variableValues: request.variables ?? {},
    operationName: request.operationName });
  if (!('data' in result)) {
    // Variables that do not fit the schema's types: a request error.
    return violation(result.errors.map((e) => e.message).join('; '));
  }
  // after_execute: the work is done, the answer lost.
  if (fault) return fault.kind === 'hang' ? hang() : send(res, ...faultAnswer(fault));
  send(res, 200, result, rateLimitHeaders());
}

function handleControl(req, res, url, body) {
  const input = body ? JSON.parse(body) : {};
  const key = input.key ?? url.searchParams.get('key');
  if (url.pathname === '/_control/health') return send(res, 200, { ok: true, schema: schemaPath });
  if (!key) return send(res, 400, { error: 'give key' });
  if (url.pathname === '/_control/reset') {
    workspaces.set(key, newWorkspace({ performanceLabel: input.performance_label ?? true }));
    return send(res, 200, { ok: true });
  }
  const ws = workspaceFor(key);
  if (url.pathname === '/_control/faults') {
    ws.faults.push(...(input.faults ?? []));
    return send(res, 200, { ok: true, pending: ws.faults.length });
  }
  if (url.pathname === '/_control/set_state') {
    // Moves an issue to a workflow state by name, as a person would in Linear.
    const issue = ws.issues.find((i) => i.identifier === input.identifier);
    const state = issue?.team.states.find((st) => st.name === input.state);
    if (!state) return send(res, 404, { error: 'no such issue or state' });
    issue.state = state;
    return send(res, 200, { ok: true });
  }
  if (url.pathname === '/_control/state') {
    return send(res, 200, {
      teams: ws.teams.map((t) => ({ id: t.id, key: t.key, name: t.name, labels: t.labels.map((l) => l.name) })),
      issues: ws.issues.map((i) => ({ id: i.id, identifier: i.identifier, title: i.title, description: i.description,
        priority: i.priority, estimate: i.estimate, state: i.state.name, labels: i.labels.map((l) => l.name),
        project: i.project?.name ?? null })),
      comments: ws.comments.map((c) => ({ issue: c.issue.identifier, body: c.body })),
      violations: ws.violations,
      requests: ws.requests,
      pending_faults: ws.faults.length,
      early_retries: ws.early_retries ?? 0,
    });
  }
  send(res, 404, { error: `unknown control path ${url.pathname}` });
}

const server = createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url, `http://${req.headers.host ?? 'localhost'}`);
    Promise.resolve()
      .then(() => {
        if (url.pathname.startsWith('/_control/')) return handleControl(req, res, url, body);
        if (url.pathname === '/graphql' && req.method === 'POST') return handleGraphql(req, res, body);
        send(res, 404, { error: 'POST /graphql' });
      })
      .catch((e) => {
        console.error(e);
        if (!res.headersSent) send(res, 500, { errors: [{ message: `stand-in bug: ${e.message}` }] });
      });
  });
});

server.listen(port, host, () => {
  console.log(`linear-standin listening on http://${host}:${port}/graphql (schema ${schemaPath})`);
});
for (const signal of ['SIGTERM', 'SIGINT']) process.on(signal, () => { server.close(); process.exit(0); });

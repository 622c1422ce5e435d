// The Django form of a recommended index: the Meta.indexes entry to paste
// into the model, and the migration operation that builds it without
// blocking writes (AddIndexConcurrently, atomic = False).
//
// Keys, INCLUDE and simple predicates (col = literal, IS [NOT] NULL, joined by
// AND) map to models.Index / GinIndex / BrinIndex arguments. What Django's
// index API cannot say (other expressions or predicates) gets a RunSQL
// migration with the exact DDL instead, and says so.
#pragma once

#include <string>
#include <vector>

#include "core/advisor/candidates.h"

namespace dbopt::advisor {

struct DjangoIndex {
  std::vector<std::string> imports;  // the import lines the code needs
  std::string meta_entry;            // models.Index(...), for Meta.indexes; empty when only RunSQL can say it
  std::string operation;             // the migration operation (AddIndexConcurrently or RunSQL)
  std::string name;                  // the Django index name (at most 30 characters, Django's limit)
};

DjangoIndex django_index(const Candidate& c);

// Python to paste for a set of indexes: each table's Meta.indexes entries and
// one migration that builds them all concurrently.
std::string django_code(const std::vector<Candidate>& indexes);

}  // namespace dbopt::advisor

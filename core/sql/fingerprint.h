// Query fingerprints and normalized text: how log analysis groups statements
// that differ only in their constants.
//
// fingerprint() is libpg_query's fingerprint as 16 hex digits: it ignores
// constants, parameters, aliases and the length of IN lists, so
// "WHERE id IN (1, 2)" and "WHERE id IN ($1)" get the same value. normalize()
// replaces every constant with $n (IN lists of different length stay
// different). Both are thin wrappers meant for the hot path of log analysis:
// one libpg_query call each, no parse tree. Texts with several statements get
// one fingerprint for all of them; an empty text gets the empty fingerprint.
//
// Errors: dbopt::Error(invalid_argument) when the text does not parse (the
// message names the 1-based position and the text around it), contains a NUL
// byte, or nests deeper than dbopt analyzes. Thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace dbopt::sql {

std::string fingerprint(std::string_view sql);

std::string normalize(std::string_view sql);

}  // namespace dbopt::sql

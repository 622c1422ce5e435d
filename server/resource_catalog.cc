#include "server/resource_catalog.h"

#include "core/common/error.h"

namespace dbopt::server {

ResourceContent ResourceCatalog::read(const std::string& uri) const {
  for (const auto& r : resources_)
    if (r.uri == uri) return r.read();
  for (const auto& t : templates_) {
    // Templates here have one trailing {parameter}: "dbopt://tools/{name}".
    auto brace = t.uri_template.find('{');
    if (brace == std::string::npos) continue;
    const std::string prefix = t.uri_template.substr(0, brace);
    if (uri.size() > prefix.size() && uri.compare(0, prefix.size(), prefix) == 0 &&
        uri.find('/', prefix.size()) == std::string::npos)
      return t.read(uri.substr(prefix.size()));
  }
  throw Error(ErrorCode::not_found, "Resource not found: " + uri,
              "List the available resources with resources/list and resources/templates/list.");
}

}  // namespace dbopt::server

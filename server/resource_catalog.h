// ResourceCatalog: the MCP resources dbopt serves, and resource templates.
//
// A resource is a URI with a reader; a template is a URI pattern
// "scheme://path/{name}" whose reader gets the matched name. Readers return
// the content and throw dbopt::Error(not_found) for a URI they don't know.
// Filled once at start-up, then read-only: thread-safe.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace dbopt::server {

struct ResourceContent {
  std::string uri;
  std::string mime_type;
  std::string text;
};

struct Resource {
  std::string uri, name, title, description, mime_type;
  std::function<ResourceContent()> read;
};

struct ResourceTemplate {
  std::string uri_template, name, title, description, mime_type;
  std::function<ResourceContent(const std::string& parameter)> read;
  // The values the parameter can take now, for completion/complete; empty when unknown.
  std::function<std::vector<std::string>()> values;
};

class ResourceCatalog {
 public:
  void add(Resource resource) { resources_.push_back(std::move(resource)); }
  void add_template(ResourceTemplate resource_template) { templates_.push_back(std::move(resource_template)); }

  const std::vector<Resource>& resources() const { return resources_; }
  const std::vector<ResourceTemplate>& templates() const { return templates_; }

  // Throws dbopt::Error(not_found) naming the URI.
  ResourceContent read(const std::string& uri) const;

 private:
  std::vector<Resource> resources_;
  std::vector<ResourceTemplate> templates_;
};

}  // namespace dbopt::server

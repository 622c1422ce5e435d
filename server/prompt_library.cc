#include "server/prompt_library.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace dbopt::server {
namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  auto e = s.find_last_not_of(" \t\r");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

}  // namespace

Prompt PromptLibrary::parse(const std::string& text, const std::string& origin) {
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  auto fail = [&](const std::string& why) {
    throw std::runtime_error(origin + ":" + std::to_string(line_no) + ": " + why);
  };
  ++line_no;
  if (!std::getline(in, line) || trim(line) != "---") fail("a prompt file starts with a '---' header line");
  Prompt prompt;
  bool closed = false;
  while (std::getline(in, line)) {
    ++line_no;
    if (trim(line) == "---") {
      closed = true;
      break;
    }
    auto colon = line.find(':');
    if (colon == std::string::npos) fail("header lines are 'key: value'");
    std::string key = trim(line.substr(0, colon)), value = trim(line.substr(colon + 1));
    if (key == "name")
      prompt.name = value;
    else if (key == "title")
      prompt.title = value;
    else if (key == "description")
      prompt.description = value;
    else if (key == "argument") {
      PromptArgument arg;
      std::istringstream words(value);
      words >> arg.name;
      std::string rest;
      std::getline(words, rest);
      rest = trim(rest);
      if (rest.rfind("(required)", 0) == 0) {
        arg.required = true;
        rest = trim(rest.substr(10));
      }
      arg.description = rest;
      if (arg.name.empty()) fail("an argument needs a name");
      prompt.arguments.push_back(arg);
    } else if (key == "complete") {
      std::istringstream words(value);
      std::string name, word;
      words >> name;
      auto arg = std::find_if(prompt.arguments.begin(), prompt.arguments.end(),
                              [&](const PromptArgument& a) { return a.name == name; });
      if (arg == prompt.arguments.end()) fail("'complete' names '" + name + "', which is not an argument above it");
      while (words >> word) {
        if (word == "@databases")
          arg->completes_databases = true;
        else
          arg->completions.push_back(word);
      }
    } else
      fail("unknown header key '" + key + "'");
  }
  if (!closed) fail("the header is not closed with '---'");
  if (prompt.name.empty() || prompt.description.empty()) fail("a prompt needs a name and a description");
  std::stringstream body;
  body << in.rdbuf();
  prompt.body = trim(body.str());
  return prompt;
}

PromptLibrary PromptLibrary::load_directory(const std::string& directory) {
  PromptLibrary library;
  if (!std::filesystem::is_directory(directory)) return library;
  for (const auto& entry : std::filesystem::directory_iterator(directory)) {
    if (entry.path().extension() != ".md" || entry.path().filename() == "README.md") continue;
    std::ifstream file(entry.path());
    std::stringstream text;
    text << file.rdbuf();
    library.add(parse(text.str(), entry.path().string()));
  }
  return library;
}

void PromptLibrary::add(Prompt prompt) {
  auto at = std::lower_bound(prompts_.begin(), prompts_.end(), prompt.name,
                             [](const Prompt& p, const std::string& name) { return p.name < name; });
  prompts_.insert(at, std::move(prompt));
}

const Prompt* PromptLibrary::find(const std::string& name) const {
  for (const auto& p : prompts_)
    if (p.name == name) return &p;
  return nullptr;
}

std::string PromptLibrary::render(const Prompt& prompt, const std::map<std::string, std::string>& arguments) {
  for (const auto& arg : prompt.arguments)
    if (arg.required && !arguments.count(arg.name))
      throw std::invalid_argument("prompt '" + prompt.name + "' needs the argument '" + arg.name + "'");
  std::string out = prompt.body;
  for (const auto& arg : prompt.arguments) {
    auto it = arguments.find(arg.name);
    const std::string value = it == arguments.end() ? "(not given)" : it->second;
    const std::string placeholder = "{{" + arg.name + "}}";
    for (size_t at = out.find(placeholder); at != std::string::npos; at = out.find(placeholder, at + value.size()))
      out.replace(at, placeholder.size(), value);
  }
  return out;
}

}  // namespace dbopt::server

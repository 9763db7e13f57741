#include "infra/app/auth_tokens.h"

#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "infra/app/read_file.h"
#include "infra/grpc_status.h"

namespace kehu::app {
namespace {

constexpr absl::string_view kBearerPrefix = "Bearer ";

bool IsNameCharacter(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' ||
         c == '_' || c == '@' || c == '-';
}

std::optional<Scope> ParseScope(absl::string_view name) {
  if (name == "ingest") return Scope::kIngest;
  if (name == "query") return Scope::kQuery;
  if (name == "admin") return Scope::kAdmin;
  return std::nullopt;
}

}  // namespace

std::string ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kIngest:
      return "ingest";
    case Scope::kQuery:
      return "query";
    case Scope::kAdmin:
      return "admin";
  }
  return "admin";
}

absl::StatusOr<std::vector<TokenEntry>> ParseTokens(
    const std::string& text, const std::string& file_name) {
  std::vector<TokenEntry> entries;
  // Line of each name and token seen, for duplicate errors.
  std::map<std::string, int> name_lines;
  std::map<std::string, int> token_lines;
  int line_number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_number;
    auto error = [&](const std::string& what) {
      return absl::InvalidArgumentError(
          absl::StrCat(file_name, ":", line_number, ": ", what));
    };
    line = absl::StripAsciiWhitespace(line);
    if (line.empty() || line.front() == '#') continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (fields.size() != 3) {
      return error(absl::StrCat("expected NAME SCOPES TOKEN, found ",
                                fields.size(), " fields"));
    }
    // Errors quote nothing from the line: with its columns mixed up, any
    // field may hold a token, and the error may be shown to anyone.
    TokenEntry entry;
    entry.name = std::string(fields[0]);
    for (char c : entry.name) {
      if (!IsNameCharacter(c)) {
        return error("NAME may only hold letters, digits and ._@-");
      }
    }
    for (absl::string_view scope_name : absl::StrSplit(fields[1], ',')) {
      std::optional<Scope> scope = ParseScope(scope_name);
      if (!scope.has_value()) {
        return error(
            "unknown scope: SCOPES is a comma-separated list of ingest, "
            "query, admin");
      }
      entry.scopes.insert(*scope);
    }
    entry.token = std::string(fields[2]);
    if (entry.token.size() < kMinTokenLength) {
      return error(absl::StrCat("TOKEN is shorter than ", kMinTokenLength,
                                " characters (openssl rand -hex 32 makes a "
                                "good one)"));
    }
    for (char c : entry.token) {
      // Metadata values must be printable ASCII.
      if (c < 0x21 || c > 0x7e) {
        return error("TOKEN holds a character that is not printable ASCII");
      }
    }
    if (auto it = name_lines.find(entry.name); it != name_lines.end()) {
      return error(absl::StrCat("NAME is already used on line ", it->second));
    }
    if (auto it = token_lines.find(entry.token); it != token_lines.end()) {
      return error(absl::StrCat("TOKEN is the same as on line ", it->second,
                                " (each token must be unique)"));
    }
    name_lines[entry.name] = line_number;
    token_lines[entry.token] = line_number;
    entries.push_back(std::move(entry));
  }
  if (entries.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        file_name, ": no tokens (expected lines NAME SCOPES TOKEN)"));
  }
  return entries;
}

absl::StatusOr<std::vector<TokenEntry>> LoadTokenFile(const std::string& path) {
  absl::StatusOr<std::string> text = ReadFile(path);
  if (!text.ok()) {
    return absl::Status(text.status().code(),
                        absl::StrCat("--tokens: ", text.status().message()));
  }
  return ParseTokens(*text, path);
}

MethodAccess RequiredAccess(absl::string_view path) {
  using Kind = MethodAccess::Kind;
  if (absl::StartsWith(path, "/kehu.ingest.v1.Ingest/")) {
    return {Kind::kScope, Scope::kIngest};
  }
  if (absl::StartsWith(path, "/kehu.query.v1.Query/")) {
    return {Kind::kScope, Scope::kQuery};
  }
  if (absl::StartsWith(path, "/kehu.admin.v1.Admin/")) {
    return {Kind::kScope, Scope::kAdmin};
  }
  if (absl::StartsWith(path, "/grpc.health.v1.Health/")) {
    return {Kind::kOpen, Scope::kAdmin};
  }
  // v1alpha today, v1 in later gRPC releases.
  if (absl::StartsWith(path, "/grpc.reflection.v1alpha.ServerReflection/") ||
      absl::StartsWith(path, "/grpc.reflection.v1.ServerReflection/")) {
    return {Kind::kAnyToken, Scope::kAdmin};
  }
  return {Kind::kScope, Scope::kAdmin};
}

bool TokensEqual(absl::string_view presented, absl::string_view expected) {
  if (expected.empty()) return presented.empty();
  // Every byte of `presented` is compared, against `expected` repeated as
  // needed, and differences are accumulated instead of returned early, so
  // the time taken says nothing about `expected`.
  volatile unsigned char difference = presented.size() != expected.size();
  for (size_t i = 0; i < presented.size(); ++i) {
    difference = difference | static_cast<unsigned char>(
                                  presented[i] ^ expected[i % expected.size()]);
  }
  return difference == 0;
}

TokenAuthenticator::TokenAuthenticator(std::vector<TokenEntry> tokens)
    : tokens_(std::move(tokens)) {}

const TokenEntry* TokenAuthenticator::Find(
    absl::string_view authorization) const {
  // The scheme is case-insensitive (RFC 6750, RFC 9110).
  if (authorization.size() <= kBearerPrefix.size() ||
      !absl::StartsWithIgnoreCase(authorization, kBearerPrefix)) {
    return nullptr;
  }
  const absl::string_view presented =
      authorization.substr(kBearerPrefix.size());
  // Compare with every token, without stopping at a match, so that timing
  // reveals neither which token matched nor how many were compared.
  const TokenEntry* match = nullptr;
  for (const TokenEntry& entry : tokens_) {
    const bool equal = TokensEqual(presented, entry.token);
    match = equal ? &entry : match;
  }
  return match;
}

absl::Status TokenAuthenticator::Authorize(
    absl::string_view path,
    std::optional<absl::string_view> authorization) const {
  return Authenticate(path, authorization).status();
}

absl::StatusOr<const TokenEntry*> TokenAuthenticator::Authenticate(
    absl::string_view path,
    std::optional<absl::string_view> authorization) const {
  const MethodAccess access = RequiredAccess(path);
  const TokenEntry* entry =
      authorization.has_value() ? Find(*authorization) : nullptr;
  if (access.kind == MethodAccess::Kind::kOpen) return entry;
  if (!authorization.has_value()) {
    return absl::UnauthenticatedError(
        "missing bearer token: send the metadata \"authorization: Bearer "
        "TOKEN\" (kehu clients: --token-file or KEHU_TOKEN)");
  }
  if (entry == nullptr) {
    return absl::UnauthenticatedError(
        "unknown bearer token (expected \"authorization: Bearer TOKEN\" with "
        "a token of the server's token file)");
  }
  if (access.kind == MethodAccess::Kind::kAnyToken ||
      entry->scopes.count(access.scope) > 0) {
    return entry;
  }
  return absl::PermissionDeniedError(absl::StrCat(
      "token \"", entry->name, "\" lacks the scope \"", ScopeName(access.scope),
      "\" that ", std::string(path), " needs"));
}

grpc::Status TokenAuthenticator::Process(
    const InputMetadata& auth_metadata, grpc::AuthContext* context,
    OutputMetadata* consumed_auth_metadata,
    OutputMetadata* /*response_metadata*/) {
  absl::string_view path;
  if (auto it = auth_metadata.find(":path"); it != auth_metadata.end()) {
    path = absl::string_view(it->second.data(), it->second.size());
  }
  std::optional<absl::string_view> authorization;
  if (auto it = auth_metadata.find("authorization");
      it != auth_metadata.end()) {
    authorization = absl::string_view(it->second.data(), it->second.size());
    // Handlers need not see the secret, and then cannot leak it.
    consumed_auth_metadata->insert(
        {"authorization", std::string(it->second.data(), it->second.size())});
  }
  absl::StatusOr<const TokenEntry*> entry = Authenticate(path, authorization);
  if (!entry.ok()) return infra::ToGrpcStatus(entry.status());
  if (*entry != nullptr && context != nullptr) {
    context->AddProperty(kTokenNameProperty, (*entry)->name);
  }
  return grpc::Status::OK;
}

}  // namespace kehu::app

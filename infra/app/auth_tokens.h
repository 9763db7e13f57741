// Bearer tokens: which caller may use which part of the gRPC API.
//
// A token file names each caller, the scopes it holds and its secret, one
// per line:
//
//   # NAME       SCOPES              TOKEN
//   erp          ingest              9b1f0c6e6a0d4c1e8e1f3a7b5d2c4e6f
//   dashboard    query               4e2a7c9d1b3f5e7a9c1d3f5b7e9a1c3d
//   ops          ingest,query,admin  c3d5e7f9a1b3c5d7e9f1a3b5c7d9e1f3
//
// Fields are separated by spaces or tabs; lines that are empty or start
// with `#` are ignored. NAME is letters, digits and `._@-`, unique in the
// file; SCOPES is a comma-separated subset of `ingest`, `query`, `admin`;
// TOKEN is at least kMinTokenLength printable characters without spaces,
// unique in the file (`openssl rand -hex 32` makes a good one). A client
// sends it as the call metadata `authorization: Bearer TOKEN`.
//
// Scopes per method (RequiredAccess()):
//   /kehu.ingest.v1.Ingest/*            ingest
//   /kehu.query.v1.Query/*              query
//   /kehu.admin.v1.Admin/*              admin
//   /grpc.health.v1.Health/*            nothing: load balancers probe it
//   /grpc.reflection.*                  any valid token
//   any other method                    admin (deny by default, so that a
//                                       service added later is not open)
//
// Operation: TokenAuthenticator is a grpc::AuthMetadataProcessor, set on
// the server's credentials (server_security.h). gRPC calls it for every
// call, after the request headers arrive and before any handler runs,
// with the headers including the ":path" pseudo-header
// ("/package.Service/Method"); a non-OK status it returns ends the call
// with that status. A missing or unknown token gives UNAUTHENTICATED, a
// valid token without the method's scope PERMISSION_DENIED naming the
// scope. The `authorization` header is consumed: handlers never see it;
// they see the token's NAME as the auth-context property
// kTokenNameProperty.
//
// Why this mechanism (gRPC C++ 1.51): the processor runs in the transport's
// auth filter, so it guards every service alike, including the built-in
// health and reflection services, and can refuse a call before its handler
// runs. A server interceptor sees the method and headers too, but cannot
// end a call before the handler has run; a check in each handler would
// have to be repeated in every service and cannot reach reflection. The
// processor needs secure server credentials: TLS, or, without TLS, gRPC's
// local credentials (loopback peers only); InsecureServerCredentials()
// aborts when given a processor.
//
// Tokens are compared in constant time, all of them on every call. Neither
// a token nor a presented secret is ever logged or put into an error
// message; errors name the token's NAME at most.
//
// Concurrency: TokenAuthenticator is immutable after construction; gRPC
// calls Process() from many threads at once.
//
// Limitations: tokens are read once, at start; changing the file takes a
// restart. A token grants its scopes for as long as it is in the file:
// there is no expiry.
#ifndef KEHU_INFRA_APP_AUTH_TOKENS_H_
#define KEHU_INFRA_APP_AUTH_TOKENS_H_

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "grpcpp/security/auth_metadata_processor.h"

namespace kehu::app {

enum class Scope { kIngest, kQuery, kAdmin };

// "ingest", "query" or "admin".
std::string ScopeName(Scope scope);

// Shortest token accepted in a token file.
inline constexpr size_t kMinTokenLength = 16;

// One line of a token file.
struct TokenEntry {
  // Names the caller in errors and logs; never secret.
  std::string name;
  std::set<Scope> scopes;
  // The secret the caller presents.
  std::string token;
};

// Parses the text of a token file. `file_name` only names the file in
// errors, which are one line "FILE:LINE: what is wrong" and quote nothing
// from the file, so never a token. A file without any token is an error.
absl::StatusOr<std::vector<TokenEntry>> ParseTokens(
    const std::string& text, const std::string& file_name);

// Reads and parses the token file at `path`.
absl::StatusOr<std::vector<TokenEntry>> LoadTokenFile(const std::string& path);

// What a call needs before it reaches its handler.
struct MethodAccess {
  enum class Kind {
    // Anyone, with or without a token.
    kOpen,
    // Any valid token.
    kAnyToken,
    // A valid token holding `scope`.
    kScope,
  };
  Kind kind = Kind::kScope;
  Scope scope = Scope::kAdmin;
};

// The access the method at `path` ("/package.Service/Method") requires;
// see the table above.
MethodAccess RequiredAccess(absl::string_view path);

// True when `presented` equals `expected`. Takes time that depends only on
// presented.size(), not on where the two differ nor on expected's length.
bool TokensEqual(absl::string_view presented, absl::string_view expected);

// The property of a call's grpc::AuthContext that holds the NAME of the
// token the call presented (when it presented a valid one): handlers name
// their caller with it (the audit trail, admin_service.h).
inline constexpr char kTokenNameProperty[] = "kehu.token_name";

class TokenAuthenticator : public grpc::AuthMetadataProcessor {
 public:
  // REQUIRES: `tokens` as ParseTokens() returns them (unique, non-empty).
  explicit TokenAuthenticator(std::vector<TokenEntry> tokens);

  // Whether a call to `path` may proceed, given the value of its
  // `authorization` header (nullopt when absent): OK, UNAUTHENTICATED or
  // PERMISSION_DENIED.
  absl::Status Authorize(absl::string_view path,
                         std::optional<absl::string_view> authorization) const;
  // The same, also returning the token that was presented (nullptr when
  // none was, or the method is open and it was not valid).
  absl::StatusOr<const TokenEntry*> Authenticate(
      absl::string_view path,
      std::optional<absl::string_view> authorization) const;

  // grpc::AuthMetadataProcessor: cheap and non-blocking, so gRPC calls
  // Process() inline instead of on a separate thread.
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& auth_metadata,
                       grpc::AuthContext* context,
                       OutputMetadata* consumed_auth_metadata,
                       OutputMetadata* response_metadata) override;

 private:
  // The entry whose token `authorization` ("Bearer TOKEN") carries, or
  // nullptr.
  const TokenEntry* Find(absl::string_view authorization) const;

  const std::vector<TokenEntry> tokens_;
};

}  // namespace kehu::app

#endif  // KEHU_INFRA_APP_AUTH_TOKENS_H_

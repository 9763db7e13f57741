#include "infra/app/server_security.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "infra/app/auth_tokens.h"
#include "infra/app/read_file.h"
#include "infra/status_macros.h"

namespace kehu::app {
namespace {

// The host part of a gRPC listen address: "[::1]:50051" -> "::1",
// "127.0.0.1:50051" -> "127.0.0.1", "::1" (no port) -> "::1".
std::string HostOf(const std::string& listen) {
  if (!listen.empty() && listen.front() == '[') {
    const size_t end = listen.find(']');
    return end == std::string::npos ? listen : listen.substr(1, end - 1);
  }
  if (std::count(listen.begin(), listen.end(), ':') == 1) {
    return listen.substr(0, listen.find(':'));
  }
  // No colon: a host without port; more than one: a bare IPv6 address,
  // which gRPC reads as a host without port too.
  return listen;
}

// Reads the PEM file a flag names and checks that it holds a `marker`
// block, so that a wrong file is named here rather than at bind time.
absl::StatusOr<std::string> ReadPem(const std::string& flag,
                                    const std::string& path,
                                    const std::string& marker,
                                    const std::string& what) {
  absl::StatusOr<std::string> pem = ReadFile(path);
  if (!pem.ok()) {
    return absl::Status(pem.status().code(),
                        absl::StrCat(flag, ": ", pem.status().message()));
  }
  if (!absl::StrContains(*pem, marker)) {
    return absl::InvalidArgumentError(absl::StrCat(
        flag, ": ", path, " holds no PEM ", what, " (", marker, ")"));
  }
  return pem;
}

}  // namespace

bool IsLoopbackAddress(const std::string& listen) {
  const std::string host = HostOf(listen);
  if (absl::EqualsIgnoreCase(host, "localhost")) return true;
  in_addr v4;
  if (inet_pton(AF_INET, host.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, host.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

absl::Status CheckListenSecurity(const std::string& listen,
                                 const ServerSecurityOptions& security) {
  if (security.tls_cert_file.empty() != security.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key go together: give both or neither");
  }
  if (!security.tls_client_ca_file.empty() && !security.tls()) {
    return absl::InvalidArgumentError(
        "--tls-client-ca needs --tls-cert and --tls-key");
  }
  if (IsLoopbackAddress(listen)) return absl::OkStatus();
  if (security.tls() && security.tokens()) return absl::OkStatus();
  if (security.tokens()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "refusing to listen on ", listen,
        ": bearer tokens without TLS work only on a loopback address; add "
        "--tls-cert and --tls-key"));
  }
  if (security.insecure) return absl::OkStatus();
  std::vector<std::string> missing;
  if (!security.tls()) {
    missing.push_back("--tls-cert");
    missing.push_back("--tls-key");
  }
  missing.push_back("--tokens");
  return absl::FailedPreconditionError(absl::StrCat(
      "refusing to listen on non-loopback address ", listen,
      " without TLS and tokens: give ", absl::StrJoin(missing, ", "),
      ", or --insecure to serve anyone who can reach it"));
}

std::string InsecureListenWarning(const std::string& listen,
                                  const ServerSecurityOptions& security) {
  if (!security.insecure || IsLoopbackAddress(listen) ||
      (security.tls() && security.tokens())) {
    return "";
  }
  if (security.tls()) {
    return absl::StrCat("WARNING: --insecure: listening on ", listen,
                        " without tokens: anyone who can reach it can call "
                        "every method, ingest and admin included");
  }
  return absl::StrCat("WARNING: --insecure: listening on ", listen,
                      " without TLS and without tokens: anyone who can reach "
                      "it can read and write every customer's data, and "
                      "everything crosses the network in clear text");
}

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerSecurityOptions& security) {
  std::vector<TokenEntry> tokens;
  if (security.tokens()) {
    KEHU_ASSIGN_OR_RETURN(tokens, LoadTokenFile(security.tokens_file));
  }

  std::shared_ptr<grpc::ServerCredentials> credentials;
  if (security.tls()) {
    KEHU_ASSIGN_OR_RETURN(
        std::string cert,
        ReadPem("--tls-cert", security.tls_cert_file,
                "-----BEGIN CERTIFICATE-----", "certificate"));
    KEHU_ASSIGN_OR_RETURN(std::string key,
                          ReadPem("--tls-key", security.tls_key_file,
                                  "PRIVATE KEY-----", "private key"));
    const bool verify_clients = !security.tls_client_ca_file.empty();
    grpc::SslServerCredentialsOptions ssl(
        verify_clients
            ? GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY
            : GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE);
    ssl.pem_key_cert_pairs.push_back({std::move(key), std::move(cert)});
    if (verify_clients) {
      KEHU_ASSIGN_OR_RETURN(
          ssl.pem_root_certs,
          ReadPem("--tls-client-ca", security.tls_client_ca_file,
                  "-----BEGIN CERTIFICATE-----", "certificate"));
    }
    credentials = grpc::SslServerCredentials(ssl);
  } else if (security.tokens()) {
    credentials = grpc::experimental::LocalServerCredentials(LOCAL_TCP);
  } else {
    return grpc::InsecureServerCredentials();
  }
  if (security.tokens()) {
    credentials->SetAuthMetadataProcessor(
        std::make_shared<TokenAuthenticator>(std::move(tokens)));
  }
  return credentials;
}

}  // namespace kehu::app

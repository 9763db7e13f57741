// The gRPC channel of every kehu client command (`query`, `fit`,
// `produce`): plaintext or TLS, with or without a bearer token.
//
// Operation: LoadClientSecurity() reads what the client flags name, once,
// before a command starts, so that a bad flag stops it with one line: the
// token (--token-file, a file holding just the token; without it the
// environment variable KEHU_TOKEN), the CA that signed the server's
// certificate (--tls-ca), and a client certificate and key (--tls-cert,
// --tls-key) for a server that requires them. MakeClientChannel() then
// cannot fail: with a CA the channel speaks TLS and verifies the server's
// certificate against that CA (the certificate must name the host of
// --server, e.g. IP 127.0.0.1 or DNS localhost); with a token, every call
// carries the metadata "authorization: Bearer TOKEN". The channel accepts
// responses up to kMaxMessageBytes (server.h), as large as the server
// sends.
//
// Concurrency: the channel is thread-safe and may be shared by many stubs.
//
// Limitations: without --tls-ca the channel is plaintext and the token
// crosses the connection in clear text; `kehu serve` accepts tokens
// without TLS on loopback only. The system's CA store is not used: TLS
// needs --tls-ca.
#ifndef KEHU_INFRA_APP_CLIENT_CHANNEL_H_
#define KEHU_INFRA_APP_CLIENT_CHANNEL_H_

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/channel.h"

namespace kehu::app {

// What the client flags name.
struct ClientSecurityOptions {
  // File holding just the token (surrounding whitespace ignored); "" reads
  // the environment variable KEHU_TOKEN instead, and no token when unset.
  std::string token_file;
  // PEM certificate of the CA that signed the server's certificate; set,
  // the channel speaks TLS.
  std::string tls_ca_file;
  // PEM client certificate and its private key, both or neither, for a
  // server started with --tls-client-ca. REQUIRES: tls_ca_file.
  std::string tls_cert_file;
  std::string tls_key_file;
};

// What MakeClientChannel() needs, read from the files.
struct ClientSecurity {
  // Bearer token; "" sends none.
  std::string token;
  // PEM contents; tls_ca_pem == "" means plaintext.
  std::string tls_ca_pem;
  std::string tls_cert_pem;
  std::string tls_key_pem;
};

// Reads the files `options` names (and KEHU_TOKEN). Errors name the flag
// and the file, never the token.
absl::StatusOr<ClientSecurity> LoadClientSecurity(
    const ClientSecurityOptions& options);

// A channel to `server` ("host:port") secured as `security` says.
// Connecting is lazy: an unreachable server shows up as UNAVAILABLE on the
// first call.
std::shared_ptr<grpc::Channel> MakeClientChannel(
    const std::string& server, const ClientSecurity& security);

}  // namespace kehu::app

#endif  // KEHU_INFRA_APP_CLIENT_CHANNEL_H_

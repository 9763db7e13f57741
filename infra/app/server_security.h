// Security of the gRPC server: TLS, bearer tokens (auth_tokens.h), and the
// rule about where `kehu serve` may listen.
//
// Operation: MakeServerCredentials() turns ServerSecurityOptions into the
// credentials of the listening port:
//   TLS (tls_cert_file + tls_key_file)  gRPC's SSL server credentials; with
//                                       tls_client_ca_file, every client must
//                                       present a certificate that CA signed.
//   no TLS, tokens                      gRPC's local credentials: plaintext
//                                       like insecure credentials, but they
//                                       accept only loopback peers and, unlike
//                                       insecure ones, run a token check.
//   no TLS, no tokens                   insecure credentials (no check).
// With a token file, a TokenAuthenticator is set on the credentials and
// checks every call.
//
// Secure by default: CheckListenSecurity() lets a server listen on a
// loopback address (127.0.0.0/8, ::1, localhost) with any settings, and on
// any other address only with both TLS and tokens, or with `insecure`
// (`kehu serve --insecure`, which then prints InsecureListenWarning()).
// Server::Start() checks it before it opens or binds anything.
//
// Concurrency: plain functions of their arguments.
//
// Limitations: tokens without TLS are refused on a non-loopback address
// even with `insecure`: local credentials would turn away every remote
// peer, and a bearer token must not cross a network in clear text. The
// address check reads the host of the listen address only, and does not
// resolve names: a name other than `localhost`, or a `unix:` socket, counts
// as non-loopback. Certificates and keys are read once, at start.
#ifndef KEHU_INFRA_APP_SERVER_SECURITY_H_
#define KEHU_INFRA_APP_SERVER_SECURITY_H_

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpcpp/security/server_credentials.h"

namespace kehu::app {

struct ServerSecurityOptions {
  // PEM certificate chain and private key of the server (`--tls-cert`,
  // `--tls-key`); both or neither. Set, the server speaks only TLS.
  std::string tls_cert_file;
  std::string tls_key_file;
  // PEM certificates of the CAs that sign client certificates
  // (`--tls-client-ca`); set, a client without such a certificate cannot
  // connect. REQUIRES: TLS.
  std::string tls_client_ca_file;
  // Token file (`--tokens`, format in auth_tokens.h); "" lets every call in.
  std::string tokens_file;
  // Allows a non-loopback listen address without TLS and tokens
  // (`--insecure`).
  bool insecure = false;

  bool tls() const { return !tls_cert_file.empty(); }
  bool tokens() const { return !tokens_file.empty(); }
};

// True when `listen` ("host:port", "[v6]:port") names a loopback host:
// an IPv4 address in 127.0.0.0/8, ::1 (also as ::ffff:127.x.y.z), or
// "localhost".
bool IsLoopbackAddress(const std::string& listen);

// OK when a server may listen on `listen` with `security`; otherwise
// FAILED_PRECONDITION or INVALID_ARGUMENT saying which flags are missing
// or do not go together. Reads no file.
absl::Status CheckListenSecurity(const std::string& listen,
                                 const ServerSecurityOptions& security);

// The warning `kehu serve` prints on stderr when `insecure` lets it listen
// on a non-loopback address without TLS or tokens; "" when there is no
// reason to warn.
std::string InsecureListenWarning(const std::string& listen,
                                  const ServerSecurityOptions& security);

// Reads the certificate, key, CA and token files and returns the
// credentials for the listening port (table above). Errors name the flag
// and the file.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerSecurityOptions& security);

}  // namespace kehu::app

#endif  // KEHU_INFRA_APP_SERVER_SECURITY_H_

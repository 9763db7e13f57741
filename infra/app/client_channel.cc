#include "infra/app/client_channel.h"

#include <cstdlib>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/support/channel_arguments.h"
#include "grpcpp/support/client_interceptor.h"
#include "infra/app/read_file.h"
#include "infra/app/server.h"

namespace kehu::app {
namespace {

// Adds the authorization header to every call of the channel.
class BearerTokenInterceptor : public grpc::experimental::Interceptor {
 public:
  explicit BearerTokenInterceptor(std::string header)
      : header_(std::move(header)) {}

  void Intercept(
      grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(
            grpc::experimental::InterceptionHookPoints::
                PRE_SEND_INITIAL_METADATA)) {
      methods->GetSendInitialMetadata()->insert({"authorization", header_});
    }
    methods->Proceed();
  }

 private:
  const std::string header_;
};

class BearerTokenInterceptorFactory
    : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  explicit BearerTokenInterceptorFactory(const std::string& token)
      : header_(absl::StrCat("Bearer ", token)) {}

  grpc::experimental::Interceptor* CreateClientInterceptor(
      grpc::experimental::ClientRpcInfo* /*info*/) override {
    return new BearerTokenInterceptor(header_);
  }

 private:
  const std::string header_;
};

// Reads a PEM file a flag names.
absl::StatusOr<std::string> ReadFlagFile(const std::string& flag,
                                         const std::string& path) {
  absl::StatusOr<std::string> content = ReadFile(path);
  if (!content.ok()) {
    return absl::Status(content.status().code(),
                        absl::StrCat(flag, ": ", content.status().message()));
  }
  return content;
}

// Checks a token read from `source` (a flag and file, or the variable).
absl::Status CheckToken(const std::string& token, const std::string& source) {
  if (token.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(source, " is empty"));
  }
  for (char c : token) {
    if (c < 0x21 || c > 0x7e) {
      return absl::InvalidArgumentError(absl::StrCat(
          source,
          ": the token holds a space or a character that is not printable "
          "ASCII (the file must hold just the token)"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ClientSecurity> LoadClientSecurity(
    const ClientSecurityOptions& options) {
  ClientSecurity security;
  if (!options.token_file.empty()) {
    absl::StatusOr<std::string> token =
        ReadFlagFile("--token-file", options.token_file);
    if (!token.ok()) return token.status();
    security.token = std::string(absl::StripAsciiWhitespace(*token));
    absl::Status s = CheckToken(
        security.token, absl::StrCat("--token-file: ", options.token_file));
    if (!s.ok()) return s;
  } else if (const char* token = std::getenv("KEHU_TOKEN"); token != nullptr) {
    security.token = std::string(absl::StripAsciiWhitespace(token));
    absl::Status s = CheckToken(security.token, "KEHU_TOKEN");
    if (!s.ok()) return s;
  }

  if (options.tls_cert_file.empty() != options.tls_key_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert and --tls-key go together: give both or neither");
  }
  if (!options.tls_cert_file.empty() && options.tls_ca_file.empty()) {
    return absl::InvalidArgumentError(
        "--tls-cert needs --tls-ca (the CA that signed the server's "
        "certificate)");
  }
  if (!options.tls_ca_file.empty()) {
    absl::StatusOr<std::string> ca =
        ReadFlagFile("--tls-ca", options.tls_ca_file);
    if (!ca.ok()) return ca.status();
    if (!absl::StrContains(*ca, "-----BEGIN CERTIFICATE-----")) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--tls-ca: ", options.tls_ca_file, " holds no PEM certificate"));
    }
    security.tls_ca_pem = std::move(*ca);
  }
  if (!options.tls_cert_file.empty()) {
    absl::StatusOr<std::string> cert =
        ReadFlagFile("--tls-cert", options.tls_cert_file);
    if (!cert.ok()) return cert.status();
    absl::StatusOr<std::string> key =
        ReadFlagFile("--tls-key", options.tls_key_file);
    if (!key.ok()) return key.status();
    security.tls_cert_pem = std::move(*cert);
    security.tls_key_pem = std::move(*key);
  }
  return security;
}

std::shared_ptr<grpc::Channel> MakeClientChannel(
    const std::string& server, const ClientSecurity& security) {
  std::shared_ptr<grpc::ChannelCredentials> credentials;
  if (security.tls_ca_pem.empty()) {
    credentials = grpc::InsecureChannelCredentials();
  } else {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = security.tls_ca_pem;
    ssl.pem_cert_chain = security.tls_cert_pem;
    ssl.pem_private_key = security.tls_key_pem;
    credentials = grpc::SslCredentials(ssl);
  }
  grpc::ChannelArguments args;
  args.SetMaxReceiveMessageSize(kMaxMessageBytes);
  std::vector<
      std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface>>
      interceptors;
  // A token goes in a header that the channel adds to each call, rather
  // than as call credentials: gRPC sends call credentials only over TLS,
  // and the token must also work on a plaintext loopback connection.
  if (!security.token.empty()) {
    interceptors.push_back(
        std::make_unique<BearerTokenInterceptorFactory>(security.token));
  }
  return grpc::experimental::CreateCustomChannelWithInterceptors(
      server, credentials, args, std::move(interceptors));
}

}  // namespace kehu::app

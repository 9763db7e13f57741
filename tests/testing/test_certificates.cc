#include "tests/testing/test_certificates.h"

#include <unistd.h>

#include <cstdlib>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "tests/testing/subprocess.h"

namespace kehu::testing {
namespace {

// The openssl binary on PATH (Subprocess does not search PATH).
std::string FindOpenssl() {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir :
       absl::StrSplit(path != nullptr ? path : "/usr/bin:/bin", ':')) {
    std::string candidate = absl::StrCat(std::string(dir), "/openssl");
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return "/usr/bin/openssl";
}

absl::Status RunOpenssl(std::vector<std::string> args) {
  args.insert(args.begin(), FindOpenssl());
  Subprocess openssl(args);
  const int code = openssl.Wait();
  if (code != 0) {
    return absl::InternalError(absl::StrCat("`", absl::StrJoin(args, " "),
                                            "` exited with ", code, ": ",
                                            openssl.stderr_text()));
  }
  return absl::OkStatus();
}

// `openssl req` arguments that make a new EC P-256 key and a one-day
// certificate for `subject`, self-signed unless more arguments follow.
std::vector<std::string> NewCertificate(const std::string& subject,
                                        const std::string& cert,
                                        const std::string& key) {
  return {"req",    "-x509",          "-newkey",
          "ec",     "-pkeyopt",       "ec_paramgen_curve:prime256v1",
          "-nodes", "-days",          "1",
          "-subj",  "/CN=" + subject, "-keyout",
          key,      "-out",           cert};
}

// A self-signed CA certificate and key.
absl::Status MakeCa(const std::string& cert, const std::string& key,
                    const std::string& name) {
  return RunOpenssl(NewCertificate(name, cert, key));
}

// A certificate and key for `subject`, signed by the CA, not itself a CA,
// with `extensions` added.
absl::Status MakeSigned(const std::string& cert, const std::string& key,
                        const std::string& ca_cert, const std::string& ca_key,
                        const std::string& subject,
                        const std::vector<std::string>& extensions) {
  std::vector<std::string> args = NewCertificate(subject, cert, key);
  args.insert(args.end(), {"-CA", ca_cert, "-CAkey", ca_key, "-addext",
                           "basicConstraints=critical,CA:FALSE"});
  for (const auto& e : extensions) {
    args.push_back("-addext");
    args.push_back(e);
  }
  return RunOpenssl(args);
}

}  // namespace

absl::StatusOr<TestCertificates> MakeTestCertificates(const std::string& dir) {
  TestCertificates c;
  c.ca_cert = dir + "/ca.pem";
  c.ca_key = dir + "/ca.key";
  c.server_cert = dir + "/server.pem";
  c.server_key = dir + "/server.key";
  c.client_cert = dir + "/client.pem";
  c.client_key = dir + "/client.key";
  c.other_ca_cert = dir + "/other-ca.pem";
  c.other_ca_key = dir + "/other-ca.key";
  c.other_client_cert = dir + "/other-client.pem";
  c.other_client_key = dir + "/other-client.key";
  absl::Status s = MakeCa(c.ca_cert, c.ca_key, "kehu test CA");
  if (s.ok()) s = MakeCa(c.other_ca_cert, c.other_ca_key, "other test CA");
  if (s.ok()) {
    s = MakeSigned(c.server_cert, c.server_key, c.ca_cert, c.ca_key,
                   "localhost",
                   {"subjectAltName=IP:127.0.0.1,DNS:localhost",
                    "extendedKeyUsage=serverAuth"});
  }
  if (s.ok()) {
    s = MakeSigned(c.client_cert, c.client_key, c.ca_cert, c.ca_key,
                   "kehu test client", {"extendedKeyUsage=clientAuth"});
  }
  if (s.ok()) {
    s = MakeSigned(c.other_client_cert, c.other_client_key, c.other_ca_cert,
                   c.other_ca_key, "other test client",
                   {"extendedKeyUsage=clientAuth"});
  }
  if (!s.ok()) return s;
  return c;
}

}  // namespace kehu::testing

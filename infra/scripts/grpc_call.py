#!/usr/bin/python3
"""A generic gRPC client that knows nothing but the server's address.

Operation
  Everything it needs to know about the server's API it learns from the
  server itself, through the standard gRPC server reflection service
  (grpc.reflection.v1alpha.ServerReflection, which `kehu serve` registers):
  the names of the services, and for a symbol the .proto file that defines
  it with all the files that file imports, as serialized
  FileDescriptorProtos. Those are loaded into a private descriptor pool, and
  protobuf's message factory makes message classes from them; requests and
  responses are converted to and from JSON with protobuf's canonical JSON
  mapping (google.protobuf.json_format), the same form as kehu's NDJSON
  events. No .proto file and no generated code of the server is needed.

  Commands:
    list [SERVICE]           the services and their methods
    describe SYMBOL          a service, a method (SERVICE/METHOD or
                             SERVICE.METHOD), a message or an enum, in .proto
                             syntax: for a method, its request message too
    call SERVICE/METHOD [JSON]
                             calls a unary method with the JSON request
                             ({} when left out, - to read it from stdin) and
                             prints the JSON response

  Options: --server ADDR (default 127.0.0.1:50051), --token-file FILE or the
  environment variable KEHU_TOKEN (sent as `authorization: Bearer TOKEN`
  metadata on every call, reflection included), --tls-ca FILE (TLS, trusting
  that CA; --tls-server-name to check another name than the address's host),
  --timeout SECONDS for each call (default 10).

  An RPC that fails prints one line naming the status code and its message
  (`grpc_call.py: kehu.query.v1.Query/GetCustomer: INVALID_ARGUMENT: ...`)
  and exits 1; a bad command line or request JSON exits 2.

Limitations
  Unary methods only: a streaming method is listed and described, but
  `call` refuses it. Only reflection v1alpha is spoken (the version gRPC
  1.51, Debian 12's, serves). Extensions and google.protobuf.Any fields
  whose type the server did not send are not resolved.

Needs Debian 12's python3-grpcio and python3-protobuf, hence the
interpreter in the first line: /usr/bin/python3 is the one they are
installed for.
"""

import argparse
import os
import sys

# gRPC's core logs some failures (a TLS handshake) on stderr by itself;
# this client reports each failure once, as one line.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import grpc  # pylint: disable=wrong-import-position
from google.protobuf import descriptor
from google.protobuf import descriptor_pb2
from google.protobuf import descriptor_pool
from google.protobuf import json_format
from google.protobuf import message_factory
from google.protobuf import text_format

PROG = os.path.basename(sys.argv[0])

# The part of grpc/reflection/v1alpha/reflection.proto this client uses, as
# a FileDescriptorProto in text format (field numbers as in that file;
# fields left out are skipped as unknown). Python's grpcio in Debian does
# not ship the reflection stubs, so the messages are built from this.
_REFLECTION_PROTO = """
name: "grpc/reflection/v1alpha/reflection.proto"
package: "grpc.reflection.v1alpha"
syntax: "proto3"
message_type {
  name: "ServerReflectionRequest"
  field { name: "host" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "file_by_filename" number: 3 label: LABEL_OPTIONAL
          type: TYPE_STRING oneof_index: 0 }
  field { name: "file_containing_symbol" number: 4 label: LABEL_OPTIONAL
          type: TYPE_STRING oneof_index: 0 }
  field { name: "list_services" number: 7 label: LABEL_OPTIONAL
          type: TYPE_STRING oneof_index: 0 }
  oneof_decl { name: "message_request" }
}
message_type {
  name: "ServerReflectionResponse"
  field { name: "valid_host" number: 1 label: LABEL_OPTIONAL
          type: TYPE_STRING }
  field { name: "file_descriptor_response" number: 4 label: LABEL_OPTIONAL
          type: TYPE_MESSAGE
          type_name: ".grpc.reflection.v1alpha.FileDescriptorResponse"
          oneof_index: 0 }
  field { name: "list_services_response" number: 6 label: LABEL_OPTIONAL
          type: TYPE_MESSAGE
          type_name: ".grpc.reflection.v1alpha.ListServiceResponse"
          oneof_index: 0 }
  field { name: "error_response" number: 7 label: LABEL_OPTIONAL
          type: TYPE_MESSAGE
          type_name: ".grpc.reflection.v1alpha.ErrorResponse"
          oneof_index: 0 }
  oneof_decl { name: "message_response" }
}
message_type {
  name: "FileDescriptorResponse"
  field { name: "file_descriptor_proto" number: 1 label: LABEL_REPEATED
          type: TYPE_BYTES }
}
message_type {
  name: "ListServiceResponse"
  field { name: "service" number: 1 label: LABEL_REPEATED type: TYPE_MESSAGE
          type_name: ".grpc.reflection.v1alpha.ServiceResponse" }
}
message_type {
  name: "ServiceResponse"
  field { name: "name" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
}
message_type {
  name: "ErrorResponse"
  field { name: "error_code" number: 1 label: LABEL_OPTIONAL
          type: TYPE_INT32 }
  field { name: "error_message" number: 2 label: LABEL_OPTIONAL
          type: TYPE_STRING }
}
"""

_REFLECTION_METHOD = (
    "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")


def _message_class(desc):
  """Returns the message class of a message descriptor, on any protobuf."""
  if hasattr(message_factory, "GetMessageClass"):  # protobuf >= 4.22
    return message_factory.GetMessageClass(desc)
  return message_factory.MessageFactory(desc.file.pool).GetPrototype(desc)


class UsageError(Exception):
  """A bad command line or request: exit 2."""


class RpcFailure(Exception):
  """An RPC that ended with a non-OK status: exit 1."""

  def __init__(self, what, code_name, details):
    super().__init__(f"{what}: {code_name}: {details}")


def _rpc_failure(what, error):
  """Converts a grpc.RpcError into an RpcFailure naming `what` failed."""
  code = error.code() if hasattr(error, "code") else None
  details = error.details() if hasattr(error, "details") else str(error)
  return RpcFailure(what, code.name if code else "UNKNOWN", details or "")


class Reflection:
  """Learns the server's API through its reflection service.

  Each query is one short stream (one request, one response): simpler than
  keeping a stream open, and a handful of round trips is nothing for a
  command-line client. Received files go into `pool`, each after the files
  it imports.
  """

  def __init__(self, channel, metadata, timeout):
    reflection_pool = descriptor_pool.DescriptorPool()
    reflection_pool.AddSerializedFile(
        text_format.Parse(_REFLECTION_PROTO,
                          descriptor_pb2.FileDescriptorProto()).
        SerializeToString())
    package = "grpc.reflection.v1alpha."
    self._request_class = _message_class(
        reflection_pool.FindMessageTypeByName(package +
                                              "ServerReflectionRequest"))
    response_class = _message_class(
        reflection_pool.FindMessageTypeByName(package +
                                              "ServerReflectionResponse"))
    self._stream = channel.stream_stream(
        _REFLECTION_METHOD,
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_class.FromString)
    self._metadata = metadata
    self._timeout = timeout
    self.pool = descriptor_pool.DescriptorPool()
    self._received = {}  # file name -> FileDescriptorProto not yet in pool

  def _ask(self, what, **request_fields):
    """Sends one reflection request; returns its response."""
    request = self._request_class(**request_fields)
    try:
      for response in self._stream(iter([request]),
                                   timeout=self._timeout,
                                   metadata=self._metadata):
        break
      else:
        raise RpcFailure(what, "UNKNOWN", "the reflection stream ended empty")
    except grpc.RpcError as e:
      raise _rpc_failure(what, e) from None
    if response.WhichOneof("message_response") == "error_response":
      error = response.error_response
      raise RpcFailure(what, _status_code_name(error.error_code),
                       error.error_message)
    return response

  def list_services(self):
    """Returns the full names of the services the server lists, sorted."""
    response = self._ask("list services", list_services="*")
    return sorted(s.name for s in response.list_services_response.service)

  def load_symbol(self, symbol):
    """Makes sure the file defining `symbol` is in `pool`."""
    if not self._has_symbol(symbol):
      self._take(
          self._ask(f"reflection of {symbol}", file_containing_symbol=symbol))

  def _has_symbol(self, symbol):
    try:
      self.pool.FindFileContainingSymbol(symbol)
      return True
    except KeyError:
      return False

  def _take(self, response):
    """Adds the files of a file_descriptor_response to `pool`."""
    names = []
    for blob in response.file_descriptor_response.file_descriptor_proto:
      file = descriptor_pb2.FileDescriptorProto.FromString(blob)
      self._received.setdefault(file.name, file)
      names.append(file.name)
    for name in names:
      self._add_file(name)

  def _add_file(self, name):
    """Adds file `name` to `pool` after its imports, fetching missing ones."""
    try:
      self.pool.FindFileByName(name)
      return
    except KeyError:
      pass
    if name not in self._received:
      # Servers should send a file's imports with it; fetch any that was not.
      self._take(self._ask(f"reflection of file {name}",
                           file_by_filename=name))
      return
    file = self._received.pop(name)
    for dependency in file.dependency:
      self._add_file(dependency)
    self.pool.AddSerializedFile(file.SerializeToString())


def _status_code_name(number):
  """Returns the name of a numeric status code, e.g. NOT_FOUND for 5."""
  for code in grpc.StatusCode:
    if code.value[0] == number:
      return code.name
  return f"status {number}"


# --- Resolving names ---------------------------------------------------------


def _find_service(reflection, name):
  reflection.load_symbol(name)
  try:
    return reflection.pool.FindServiceByName(name)
  except KeyError:
    raise UsageError(f"{name} is not a service") from None


def _find_method(reflection, name):
  """Returns the method descriptor of SERVICE/METHOD or SERVICE.METHOD."""
  service_name, sep, method_name = name.replace("/", ".").rpartition(".")
  if not sep or not service_name:
    raise UsageError(f"{name}: expected SERVICE/METHOD, e.g. "
                     "kehu.query.v1.Query/GetCustomer")
  service = _find_service(reflection, service_name)
  method = service.methods_by_name.get(method_name)
  if method is None:
    raise UsageError(f"service {service.full_name} has no method "
                     f"{method_name}; it has: "
                     f"{', '.join(m.name for m in service.methods)}")
  return method


# --- Printing descriptors in .proto syntax -----------------------------------

_SCALAR_TYPE_NAMES = {
    descriptor.FieldDescriptor.TYPE_DOUBLE: "double",
    descriptor.FieldDescriptor.TYPE_FLOAT: "float",
    descriptor.FieldDescriptor.TYPE_INT64: "int64",
    descriptor.FieldDescriptor.TYPE_UINT64: "uint64",
    descriptor.FieldDescriptor.TYPE_INT32: "int32",
    descriptor.FieldDescriptor.TYPE_FIXED64: "fixed64",
    descriptor.FieldDescriptor.TYPE_FIXED32: "fixed32",
    descriptor.FieldDescriptor.TYPE_BOOL: "bool",
    descriptor.FieldDescriptor.TYPE_STRING: "string",
    descriptor.FieldDescriptor.TYPE_BYTES: "bytes",
    descriptor.FieldDescriptor.TYPE_UINT32: "uint32",
    descriptor.FieldDescriptor.TYPE_SFIXED32: "sfixed32",
    descriptor.FieldDescriptor.TYPE_SFIXED64: "sfixed64",
    descriptor.FieldDescriptor.TYPE_SINT32: "sint32",
    descriptor.FieldDescriptor.TYPE_SINT64: "sint64",
}


def _type_name(field):
  if field.message_type is not None:
    return field.message_type.full_name
  if field.enum_type is not None:
    return field.enum_type.full_name
  return _SCALAR_TYPE_NAMES[field.type]


def _is_map(field):
  return (field.message_type is not None and
          field.message_type.GetOptions().map_entry)


def _field_line(field, proto3_optional=False):
  if _is_map(field):
    key, value = (field.message_type.fields_by_name["key"],
                  field.message_type.fields_by_name["value"])
    kind = f"map<{_type_name(key)}, {_type_name(value)}>"
  elif field.label == descriptor.FieldDescriptor.LABEL_REPEATED:
    kind = f"repeated {_type_name(field)}"
  elif proto3_optional:
    kind = f"optional {_type_name(field)}"
  else:
    kind = _type_name(field)
  json_name = ""
  if field.json_name and field.json_name != field.name:
    json_name = f"  // JSON: {field.json_name}"
  return f"{kind} {field.name} = {field.number};{json_name}"


def _message_lines(message, indent=""):
  lines = [f"{indent}message {message.name} {{"]
  inner = indent + "  "
  # A proto3 `optional` field sits in a oneof of its own that the .proto
  # does not show; only the DescriptorProto tells which.
  proto = descriptor_pb2.DescriptorProto()
  message.CopyToProto(proto)
  optional = {f.name for f in proto.field if f.proto3_optional}
  in_oneof = None
  for field in message.fields:
    oneof = None if field.name in optional else field.containing_oneof
    if oneof is not in_oneof:
      if in_oneof is not None:
        lines.append(f"{inner}}}")
      if oneof is not None:
        lines.append(f"{inner}oneof {oneof.name} {{")
      in_oneof = oneof
    lines.append(f"{inner}{'  ' if oneof else ''}"
                 f"{_field_line(field, field.name in optional)}")
  if in_oneof is not None:
    lines.append(f"{inner}}}")
  for nested in message.nested_types:
    if not nested.GetOptions().map_entry:
      lines.extend(_message_lines(nested, inner))
  for enum in message.enum_types:
    lines.extend(_enum_lines(enum, inner))
  lines.append(f"{indent}}}")
  return lines


def _enum_lines(enum, indent=""):
  lines = [f"{indent}enum {enum.name} {{"]
  lines += [f"{indent}  {v.name} = {v.number};" for v in enum.values]
  lines.append(f"{indent}}}")
  return lines


def _method_line(method):
  stream_in = "stream " if _client_streaming(method) else ""
  stream_out = "stream " if _server_streaming(method) else ""
  return (f"rpc {method.name}({stream_in}{method.input_type.full_name}) "
          f"returns ({stream_out}{method.output_type.full_name});")


def _streaming(method, field):
  proto = descriptor_pb2.MethodDescriptorProto()
  method.CopyToProto(proto)
  return getattr(proto, field)


def _client_streaming(method):
  return _streaming(method, "client_streaming")


def _server_streaming(method):
  return _streaming(method, "server_streaming")


# --- Commands -----------------------------------------------------------------


def command_list(reflection, args):
  names = [args.service] if args.service else reflection.list_services()
  for name in names:
    print(name)
    try:
      service = _find_service(reflection, name)
    except RpcFailure as e:
      if not args.service:
        # Some services (gRPC's own health service in C++) are built
        # without a descriptor the server could send; list them anyway.
        print(f"  (methods not described by the server: {e})")
        continue
      raise
    for method in service.methods:
      print(f"  {_method_line(method)}")


def command_describe(reflection, args):
  symbol = args.symbol.replace("/", ".")
  try:
    reflection.load_symbol(symbol)
  except RpcFailure as e:
    # A server may not index methods by name: find one through its service.
    service_name = symbol.rpartition(".")[0]
    try:
      reflection.load_symbol(service_name)
    except RpcFailure:
      raise e from None
  pool = reflection.pool
  for find in (pool.FindServiceByName, pool.FindMessageTypeByName,
               pool.FindEnumTypeByName, pool.FindMethodByName):
    try:
      found = find(symbol)
    except KeyError:
      continue
    if isinstance(found, descriptor.ServiceDescriptor):
      print(f"service {found.full_name} {{")
      for method in found.methods:
        print(f"  {_method_line(method)}")
      print("}")
    elif isinstance(found, descriptor.MethodDescriptor):
      print(f"{found.containing_service.full_name}: {_method_line(found)}")
      print()
      print(f"// {found.input_type.full_name}")
      print("\n".join(_message_lines(found.input_type)))
    elif isinstance(found, descriptor.Descriptor):
      print(f"// {found.full_name}")
      print("\n".join(_message_lines(found)))
    else:
      print(f"// {found.full_name}")
      print("\n".join(_enum_lines(found)))
    return
  raise UsageError(f"{args.symbol} is not a service, method, message or enum")


def command_call(reflection, channel, metadata, args):
  method = _find_method(reflection, args.method)
  full_name = f"{method.containing_service.full_name}/{method.name}"
  if _client_streaming(method) or _server_streaming(method):
    raise UsageError(f"{full_name} is a streaming method; "
                     "only unary methods can be called")
  text = sys.stdin.read() if args.request == "-" else args.request
  request_class = _message_class(method.input_type)
  response_class = _message_class(method.output_type)
  try:
    request = json_format.Parse(text,
                                request_class(),
                                descriptor_pool=reflection.pool)
  except json_format.ParseError as e:
    reason = " ".join(str(e).split())  # one line
    raise UsageError(f"request is not a valid {method.input_type.full_name} "
                     f"in JSON: {reason}") from None
  stub = channel.unary_unary(f"/{full_name}",
                             request_serializer=lambda m: m.SerializeToString(),
                             response_deserializer=response_class.FromString)
  try:
    response = stub(request, timeout=args.timeout, metadata=metadata)
  except grpc.RpcError as e:
    raise _rpc_failure(full_name, e) from None
  print(
      json_format.MessageToJson(response,
                                preserving_proto_field_name=True,
                                descriptor_pool=reflection.pool))


# --- Command line ---------------------------------------------------------------


def _parse_args(argv):
  parser = argparse.ArgumentParser(
      prog=PROG,
      description="A gRPC client that learns the server's API through server\n"
      "reflection: lists services and methods, describes messages, and calls\n"
      "unary methods with JSON requests (streaming methods are not supported).",
      epilog="examples:\n"
      f"  {PROG} list\n"
      f"  {PROG} describe kehu.query.v1.Query/GetCustomer\n"
      f"  {PROG} call kehu.query.v1.Query/GetCustomer "
      "'{\"customer_id\": \"C42\"}'\n\n"
      "An RPC error prints one line, CODE: message, and exits 1; a bad\n"
      "command line or request exits 2.",
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--server",
                      default="127.0.0.1:50051",
                      metavar="ADDR",
                      help="address of the server, HOST:PORT "
                      "(default %(default)s)")
  parser.add_argument("--token-file",
                      metavar="FILE",
                      help="send the token in FILE as `authorization: Bearer "
                      "TOKEN` (default: the environment variable KEHU_TOKEN, "
                      "when set)")
  parser.add_argument("--tls-ca",
                      metavar="FILE",
                      help="connect with TLS, trusting the CA certificates "
                      "in FILE (PEM); without it the connection is plaintext")
  parser.add_argument("--tls-server-name",
                      metavar="NAME",
                      help="with --tls-ca: the name the server's certificate "
                      "must carry, when not the host of --server")
  parser.add_argument("--timeout",
                      type=float,
                      default=10.0,
                      metavar="SECONDS",
                      help="deadline of each call (default %(default)s)")
  commands = parser.add_subparsers(dest="command", required=True)
  p = commands.add_parser("list", help="the services and their methods")
  p.add_argument("service", nargs="?", help="only this service")
  p = commands.add_parser(
      "describe", help="a service, method, message or enum in .proto syntax")
  p.add_argument("symbol",
                 help="full name, e.g. kehu.query.v1.CustomerView or "
                 "kehu.query.v1.Query/GetCustomer")
  p = commands.add_parser("call",
                          help="call a unary method with a JSON request")
  p.add_argument("method", help="SERVICE/METHOD")
  p.add_argument("request",
                 nargs="?",
                 default="{}",
                 help="the request in protobuf's JSON mapping (default {}; "
                 "- reads it from stdin)")
  args = parser.parse_args(argv)
  if args.timeout <= 0:
    parser.error("--timeout must be positive")
  if args.tls_server_name and not args.tls_ca:
    parser.error("--tls-server-name needs --tls-ca")
  return args


def _read_file(path, what):
  try:
    with open(path, "rb") as f:
      return f.read()
  except OSError as e:
    raise UsageError(f"cannot read {what} {path}: {e.strerror}") from None


def _metadata(args):
  if args.token_file:
    token = _read_file(args.token_file, "token file").decode().strip()
    if not token:
      raise UsageError(f"token file {args.token_file} is empty")
  else:
    token = os.environ.get("KEHU_TOKEN", "").strip()
  return (("authorization", f"Bearer {token}"),) if token else ()


def _channel(args):
  if not args.tls_ca:
    return grpc.insecure_channel(args.server)
  credentials = grpc.ssl_channel_credentials(
      root_certificates=_read_file(args.tls_ca, "CA file"))
  options = []
  if args.tls_server_name:
    options.append(("grpc.ssl_target_name_override", args.tls_server_name))
  return grpc.secure_channel(args.server, credentials, options=options)


def main(argv):
  args = _parse_args(argv)
  try:
    metadata = _metadata(args)
    with _channel(args) as channel:
      reflection = Reflection(channel, metadata, args.timeout)
      if args.command == "list":
        command_list(reflection, args)
      elif args.command == "describe":
        command_describe(reflection, args)
      else:
        command_call(reflection, channel, metadata, args)
  except UsageError as e:
    print(f"{PROG}: {e}", file=sys.stderr)
    return 2
  except RpcFailure as e:
    print(f"{PROG}: {e}", file=sys.stderr)
    return 1
  except BrokenPipeError:
    # The reader went away (`... | head`): stop quietly, as cat would.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 1
  return 0


if __name__ == "__main__":
  sys.exit(main(sys.argv[1:]))

/**
 * gRPC server reflection (grpc.reflection.v1 and v1alpha) for the gateway's public services, so
 * `grpcurl`, `buf curl`, Postman and the like work without a schema file. It answers from the
 * descriptors protobuf-es already embeds in the generated code, and it describes only what the
 * gateway routes: internal services (`*InternalService`) are neither listed nor resolvable, and
 * are removed from the file descriptors it sends even where a public file declares one (the
 * bet engine's, pool's, realtime's and settlement's .proto files declare both kinds).
 */
import {
  clone,
  create,
  toBinary,
  type DescEnum,
  type DescFile,
  type DescMessage,
  type DescService,
} from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema } from '@bufbuild/protobuf/wkt';
import { Code } from '@connectrpc/connect';
import type { ConnectRouter } from '@connectrpc/connect';
import {
  ServerReflection as ServerReflectionV1,
  ServerReflectionResponseSchema as ResponseV1Schema,
  type ServerReflectionRequest as RequestV1,
} from '@streambet/contracts/gen/grpc/reflection/v1/reflection_pb';
import {
  ServerReflection as ServerReflectionV1Alpha,
  ServerReflectionResponseSchema as ResponseV1AlphaSchema,
  type ServerReflectionRequest as RequestV1Alpha,
} from '@streambet/contracts/gen/grpc/reflection/v1alpha/reflection_pb';

/** The reflection services themselves (both versions: grpcurl and older clients ask v1alpha). */
export const reflectionServices: readonly DescService[] = [
  ServerReflectionV1,
  ServerReflectionV1Alpha,
];

/** What a reflection request asks (the same in v1 and v1alpha). */
type MessageRequest =
  | { readonly case: 'fileByFilename'; readonly value: string }
  | { readonly case: 'fileContainingSymbol'; readonly value: string }
  | {
      readonly case: 'fileContainingExtension';
      readonly value: { readonly containingType: string; readonly extensionNumber: number };
    }
  | { readonly case: 'allExtensionNumbersOfType'; readonly value: string }
  | { readonly case: 'listServices'; readonly value: string }
  | { readonly case: undefined; readonly value?: undefined };

/** The answer to one request (the same in v1 and v1alpha). */
type MessageResponse =
  | {
      readonly case: 'fileDescriptorResponse';
      readonly value: { readonly fileDescriptorProto: Uint8Array[] };
    }
  | {
      readonly case: 'allExtensionNumbersResponse';
      readonly value: { readonly baseTypeName: string; readonly extensionNumber: number[] };
    }
  | {
      readonly case: 'listServicesResponse';
      readonly value: { readonly service: Array<{ readonly name: string }> };
    }
  | {
      readonly case: 'errorResponse';
      readonly value: { readonly errorCode: number; readonly errorMessage: string };
    };

/** One reflection stream: remembers the files it already sent, as gRPC's own servers do. */
export interface ReflectionSession {
  answer(request: MessageRequest): MessageResponse;
}

/** Everything reflection may reveal, indexed once at start. */
export interface ReflectionIndex {
  /** Fully qualified names of the listed services, sorted. */
  readonly serviceNames: readonly string[];
  /** A new stream's state. */
  session(): ReflectionSession;
}

/**
 * Indexes `services` (plus the reflection services) and every file they need, transitively.
 * A file's descriptor is sent without the services that are not in the list.
 */
export function createReflectionIndex(services: readonly DescService[]): ReflectionIndex {
  const listed = [...services, ...reflectionServices];
  const listedNames = new Set(listed.map((service) => service.typeName));
  const files = new Map<string, DescFile>();
  const addFile = (file: DescFile): void => {
    if (files.has(file.proto.name)) return;
    files.set(file.proto.name, file);
    for (const dependency of file.dependencies) addFile(dependency);
  };
  for (const service of listed) addFile(service.file);

  const encoded = new Map<string, Uint8Array>();
  const symbols = new Map<string, DescFile>();
  const extensions = new Map<string, Map<number, DescFile>>();
  for (const [name, file] of files) {
    const proto = clone(FileDescriptorProtoSchema, file.proto);
    proto.service = proto.service.filter((service) =>
      listedNames.has(qualified(proto.package, service.name)),
    );
    encoded.set(name, toBinary(FileDescriptorProtoSchema, proto));
    indexFile(file, listedNames, symbols, extensions);
  }

  const serviceNames = [...listedNames].sort();
  return {
    serviceNames,
    session() {
      const sent = new Set<string>();
      /** The file and the dependencies this stream has not sent yet, the file first. */
      const withDependencies = (file: DescFile): MessageResponse => {
        const out: Uint8Array[] = [];
        const visit = (next: DescFile, force: boolean): void => {
          if (!force && sent.has(next.proto.name)) return;
          sent.add(next.proto.name);
          const bytes = encoded.get(next.proto.name);
          if (bytes !== undefined) out.push(bytes);
          for (const dependency of next.dependencies) visit(dependency, false);
        };
        // The file asked for is always sent, even if sent before on this stream.
        visit(file, true);
        return { case: 'fileDescriptorResponse', value: { fileDescriptorProto: out } };
      };
      const notFound = (what: string): MessageResponse => ({
        case: 'errorResponse',
        value: { errorCode: Code.NotFound, errorMessage: `${what} not found` },
      });
      return {
        answer(request) {
          switch (request.case) {
            case 'listServices':
              return {
                case: 'listServicesResponse',
                value: { service: serviceNames.map((name) => ({ name })) },
              };
            case 'fileByFilename': {
              const file = files.get(request.value);
              return file === undefined
                ? notFound(`file ${request.value}`)
                : withDependencies(file);
            }
            case 'fileContainingSymbol': {
              const file = symbols.get(stripDot(request.value));
              return file === undefined
                ? notFound(`symbol ${request.value}`)
                : withDependencies(file);
            }
            case 'fileContainingExtension': {
              const { containingType, extensionNumber } = request.value;
              const file = extensions.get(stripDot(containingType))?.get(extensionNumber);
              return file === undefined
                ? notFound(`extension ${extensionNumber} of ${containingType}`)
                : withDependencies(file);
            }
            case 'allExtensionNumbersOfType': {
              const typeName = stripDot(request.value);
              if (!symbols.has(typeName)) return notFound(`type ${request.value}`);
              const numbers = [...(extensions.get(typeName)?.keys() ?? [])].sort((a, b) => a - b);
              return {
                case: 'allExtensionNumbersResponse',
                value: { baseTypeName: typeName, extensionNumber: numbers },
              };
            }
            default:
              return {
                case: 'errorResponse',
                value: {
                  errorCode: Code.InvalidArgument,
                  errorMessage: 'empty reflection request',
                },
              };
          }
        },
      };
    },
  };
}

/** Registers ServerReflection v1 and v1alpha on `router`, answering from `index`. */
export function registerReflection(router: ConnectRouter, index: ReflectionIndex): void {
  router.service(ServerReflectionV1, {
    async *serverReflectionInfo(requests: AsyncIterable<RequestV1>) {
      const session = index.session();
      for await (const request of requests) {
        yield create(ResponseV1Schema, {
          validHost: request.host,
          originalRequest: request,
          messageResponse: session.answer(request.messageRequest),
        });
      }
    },
  });
  router.service(ServerReflectionV1Alpha, {
    async *serverReflectionInfo(requests: AsyncIterable<RequestV1Alpha>) {
      const session = index.session();
      for await (const request of requests) {
        yield create(ResponseV1AlphaSchema, {
          validHost: request.host,
          originalRequest: request,
          messageResponse: session.answer(request.messageRequest),
        });
      }
    },
  });
}

function indexFile(
  file: DescFile,
  listedServices: ReadonlySet<string>,
  symbols: Map<string, DescFile>,
  extensions: Map<string, Map<number, DescFile>>,
): void {
  const addEnum = (descEnum: DescEnum): void => {
    symbols.set(descEnum.typeName, file);
    // Enum values are scoped beside their enum, as in .proto name resolution.
    const scope = descEnum.parent?.typeName ?? file.proto.package;
    for (const value of descEnum.values) symbols.set(qualified(scope, value.name), file);
  };
  const addExtension = (extension: { typeName: string; extendee: DescMessage; number: number }) => {
    symbols.set(extension.typeName, file);
    const byNumber = extensions.get(extension.extendee.typeName) ?? new Map<number, DescFile>();
    byNumber.set(extension.number, file);
    extensions.set(extension.extendee.typeName, byNumber);
  };
  const addMessage = (message: DescMessage): void => {
    symbols.set(message.typeName, file);
    for (const field of message.fields) symbols.set(`${message.typeName}.${field.name}`, file);
    for (const oneof of message.oneofs) symbols.set(`${message.typeName}.${oneof.name}`, file);
    message.nestedEnums.forEach(addEnum);
    message.nestedMessages.forEach(addMessage);
    message.nestedExtensions.forEach(addExtension);
  };
  file.enums.forEach(addEnum);
  file.messages.forEach(addMessage);
  file.extensions.forEach(addExtension);
  for (const service of file.services) {
    if (!listedServices.has(service.typeName)) continue;
    symbols.set(service.typeName, file);
    for (const method of service.methods) symbols.set(`${service.typeName}.${method.name}`, file);
  }
}

function qualified(scope: string, name: string): string {
  return scope === '' ? name : `${scope}.${name}`;
}

function stripDot(name: string): string {
  return name.startsWith('.') ? name.slice(1) : name;
}

// Well-known types the APIs use (google.protobuf.Any in GetModelMetadata, Struct in bgv1 configs).
export * from '../generated/google/protobuf/any';
export * from '../generated/google/protobuf/struct';
export * from '../generated/google/protobuf/wrappers';

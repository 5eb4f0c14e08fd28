// TensorFlow framework messages (package `tensorflow`, `tensorflow.error`) used by TF Serving.
export * from '../generated/tensorflow/core/framework/types';
export * from '../generated/tensorflow/core/framework/tensor_shape';
export * from '../generated/tensorflow/core/framework/resource_handle';
export * from '../generated/tensorflow/core/framework/tensor';
export * from '../generated/tensorflow/core/protobuf/meta_graph';
export * from '../generated/tensorflow/core/protobuf/error_codes';

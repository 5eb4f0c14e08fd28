// TF Serving API (package `tensorflow.serving`): PredictionService, ModelService and their messages.
export * from '../generated/tensorflow_serving/apis/model';
export * from '../generated/tensorflow_serving/apis/predict';
export * from '../generated/tensorflow_serving/apis/get_model_metadata';
export * from '../generated/tensorflow_serving/apis/get_model_status';
export * from '../generated/tensorflow_serving/util/status';
export * from '../generated/tensorflow_serving/apis/prediction_service';
export * from '../generated/tensorflow_serving/apis/model_service';

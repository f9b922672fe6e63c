import { RekognitionClient } from '@aws-sdk/client-rekognition';

// Created once per container; only the image processor uses it, and only when LABELLER=rekognition.
export const rekognition = new RekognitionClient({ maxAttempts: 3 });

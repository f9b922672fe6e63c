import { DetectLabelsCommand, RekognitionClient } from '@aws-sdk/client-rekognition';
import { mockClient } from 'aws-sdk-client-mock';
import sharp, { type Sharp } from 'sharp';
import { exifCaptureTime } from '../../src/lib/images/exif';
import type { PixelSample } from '../../src/lib/images/labeller';
import { mergeLabels, normaliseLabel } from '../../src/lib/images/labeller';
import { colourName, localLabeller, localLabels, pixelStats } from '../../src/lib/images/local-labeller';
import { rekognitionLabeller } from '../../src/lib/images/rekognition-labeller';

async function sample(image: Sharp): Promise<PixelSample> {
  const { data, info } = await image
    .resize(64, 64, { fit: 'inside' })
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: 4 };
}

const solid = (
  colour: string | { r: number; g: number; b: number; alpha: number },
  width = 64,
  height = 64,
) => sharp({ create: { width, height, channels: 4, background: colour } });

const names = (labels: Array<{ name: string }>) => labels.map((label) => label.name);

describe('colour names', () => {
  it.each([
    [[0, 0, 0], 'black'],
    [[255, 255, 255], 'white'],
    [[128, 128, 128], 'grey'],
    [[220, 20, 20], 'red'],
    [[255, 140, 0], 'orange'],
    [[120, 60, 20], 'brown'],
    [[240, 220, 30], 'yellow'],
    [[30, 160, 60], 'green'],
    [[20, 200, 210], 'cyan'],
    [[30, 60, 220], 'blue'],
    [[130, 40, 200], 'purple'],
    [[240, 100, 200], 'pink'],
    [[255, 180, 190], 'pink'],
  ] as const)('%j is %s', ([r, g, b], name) => {
    expect(colourName(r, g, b)).toBe(name);
  });
});

describe('local labeller (deterministic visual labels)', () => {
  const base = { jpeg: Buffer.alloc(0), animated: false, hasAlpha: false };

  it('names the dominant colour, orientation and size class', async () => {
    const labels = await localLabeller.detect({
      ...base,
      sample: await sample(solid('#d02020', 80, 40)),
      width: 4000,
      height: 2000,
    });
    expect(names(labels)).toEqual(expect.arrayContaining(['red', 'landscape', 'large', 'panorama']));
    expect(labels.find((label) => label.name === 'red')?.confidence).toBe(100);
    expect(labels.every((label) => label.name === label.name.toLowerCase())).toBe(true);
  });

  it('is deterministic', async () => {
    const input = { ...base, sample: await sample(solid('#2040d0')), width: 1000, height: 1000 };
    expect(localLabels(input)).toEqual(localLabels(input));
    expect(names(localLabels(input))).toEqual(expect.arrayContaining(['blue', 'square', 'medium']));
  });

  it('tells greyscale, dark and bright images apart', async () => {
    const grey = localLabels({ ...base, sample: await sample(solid('#808080')), width: 100, height: 200 });
    expect(names(grey)).toEqual(expect.arrayContaining(['grey', 'greyscale', 'portrait', 'small']));
    expect(
      names(localLabels({ ...base, sample: await sample(solid('#050505')), width: 10, height: 10 })),
    ).toEqual(expect.arrayContaining(['black', 'dark', 'greyscale']));
    expect(
      names(localLabels({ ...base, sample: await sample(solid('#fafafa')), width: 10, height: 10 })),
    ).toEqual(expect.arrayContaining(['white', 'bright']));
  });

  it('labels transparency, animation and colourful images', async () => {
    const transparent = await sample(solid({ r: 0, g: 200, b: 0, alpha: 0.4 }));
    expect(
      names(localLabels({ ...base, hasAlpha: true, sample: transparent, width: 64, height: 64 })),
    ).toContain('transparent');
    expect(
      names(
        localLabels({
          ...base,
          animated: true,
          sample: await sample(solid('#d02020')),
          width: 64,
          height: 64,
        }),
      ),
    ).toContain('animated');
    const stripes = solid('#d02020', 90, 30).composite([
      { input: { create: { width: 30, height: 30, channels: 4, background: '#20a040' } }, left: 30, top: 0 },
      { input: { create: { width: 30, height: 30, channels: 4, background: '#2040d0' } }, left: 60, top: 0 },
    ]);
    const colourful = localLabels({
      ...base,
      sample: await sample(sharp(await stripes.png().toBuffer())),
      width: 90,
      height: 30,
    });
    expect(names(colourful)).toEqual(expect.arrayContaining(['colourful', 'red', 'green', 'blue']));
  });

  it('reports the dominant colour as hex', async () => {
    expect(pixelStats(await sample(solid('#2040d0'))).dominant).toBe('#2040d0');
  });
});

describe('label normalisation', () => {
  it('lower-cases, trims and keeps the best confidence per name', () => {
    expect(normaliseLabel('  Golden   Retriever ')).toBe('golden retriever');
    expect(
      mergeLabels([
        { name: 'Dog', confidence: 80 },
        { name: 'dog', confidence: 95.55 },
        { name: ' ', confidence: 99 },
        { name: 'Animal', confidence: 99.9 },
      ]),
    ).toEqual([
      { name: 'animal', confidence: 99.9 },
      { name: 'dog', confidence: 95.6 },
    ]);
  });
});

describe('Rekognition labeller', () => {
  const rekognition = mockClient(RekognitionClient);
  afterEach(() => rekognition.reset());
  const input = {
    jpeg: Buffer.from([0xff, 0xd8, 0xff]),
    sample: { data: Buffer.alloc(4), width: 1, height: 1, channels: 4 as const },
    width: 1,
    height: 1,
    animated: false,
    hasAlpha: false,
  };

  it('sends the JPEG bytes with MaxLabels and MinConfidence and returns lower-case labels', async () => {
    rekognition.on(DetectLabelsCommand).resolves({
      Labels: [
        { Name: 'Cat', Confidence: 98.123 },
        { Name: 'Pet', Confidence: 91 },
        { Name: 'Whiskers', Confidence: 60 },
        { Confidence: 99 },
      ],
    });
    const labeller = rekognitionLabeller(new RekognitionClient({ region: 'us-east-1' }), {
      maxLabels: 10,
      minConfidence: 70,
    });
    expect(labeller.name).toBe('rekognition');
    expect(await labeller.detect(input)).toEqual([
      { name: 'cat', confidence: 98.1 },
      { name: 'pet', confidence: 91 },
    ]);
    const calls = rekognition.commandCalls(DetectLabelsCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.args[0].input).toEqual({
      Image: { Bytes: input.jpeg },
      MaxLabels: 10,
      MinConfidence: 70,
    });
  });

  it('returns no labels when Rekognition finds none', async () => {
    rekognition.on(DetectLabelsCommand).resolves({});
    const labeller = rekognitionLabeller(new RekognitionClient({ region: 'us-east-1' }), {
      maxLabels: 5,
      minConfidence: 50,
    });
    expect(await labeller.detect(input)).toEqual([]);
  });

  it('lets errors propagate, so the event is retried instead of stored without labels', async () => {
    rekognition
      .on(DetectLabelsCommand)
      .rejects(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));
    const labeller = rekognitionLabeller(new RekognitionClient({ region: 'us-east-1', maxAttempts: 1 }), {
      maxLabels: 10,
      minConfidence: 70,
    });
    await expect(labeller.detect(input)).rejects.toThrow('Rate exceeded');
  });
});

describe('EXIF capture time', () => {
  it('prefers DateTimeOriginal with its offset, falls back to DateTime, ignores garbage', async () => {
    const withOriginal = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
      .withExif({
        IFD0: { DateTime: '2020:01:01 00:00:00' },
        IFD2: { DateTimeOriginal: '2024:02:29 23:59:58' },
      } as never)
      .jpeg()
      .toBuffer();
    expect(exifCaptureTime((await sharp(withOriginal).metadata()).exif)).toBe('2024-02-29T23:59:58');
    const onlyDateTime = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } })
      .withExif({ IFD0: { DateTime: '2020:01:02 03:04:05' } })
      .jpeg()
      .toBuffer();
    expect(exifCaptureTime((await sharp(onlyDateTime).metadata()).exif)).toBe('2020-01-02T03:04:05');
    expect(exifCaptureTime(undefined)).toBeUndefined();
    expect(exifCaptureTime(Buffer.from('Exif\0\0garbage that is not TIFF'))).toBeUndefined();
    expect(exifCaptureTime(Buffer.from('Exif\0\0II*\0\xff\xff\xff\xff', 'latin1'))).toBeUndefined();
  });
});

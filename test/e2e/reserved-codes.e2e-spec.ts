import { ShortCodeCodec } from '@app/links';
import { LinksClient } from '../support/http';
import { useTestApi } from '../support/suite';

// The secret spawnApi gives every api it starts.
const SECRET = 'e2e-secret-0123456789abcdef';

describe('generated codes never spell a reserved word', () => {
  const codec = new ShortCodeCodec(7, SECRET);
  // On a fresh database the first generated link takes id 1: reserve its code.
  const firstCode = codec.encode(1n);
  const { api } = useTestApi({
    env: { RESERVED_ALIASES: firstCode, LINK_ID_BLOCK_SIZE: '10' },
  });

  it('skips the id whose code is reserved and hands out the next one', async () => {
    const body = await new LinksClient(api.url).create({ url: 'https://example.com/reserved' });
    expect(body.code).not.toBe(firstCode);
    expect(body.code).toBe(codec.encode(2n));
  });
});

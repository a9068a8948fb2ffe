// The filters' escaping (pure logic): a typed name is a value, never filter syntax.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { FilterParser } from 'ldapts';
import { checkFilter, fillFilter, usernameAttribute } from '../../../gateway/directory/ldap-filter.js';

test('the RFC 4515 specials in a name are escaped, so injection attempts stay one equality', () => {
  assert.equal(fillFilter('(uid={username})', { username: '*' }), '(uid=\\2a)');
  assert.equal(fillFilter('(uid={username})', { username: ')(uid=*' }), '(uid=\\29\\28uid=\\2a)');
  assert.equal(fillFilter('(uid={username})', { username: '*)(|(uid=*' }), '(uid=\\2a\\29\\28|\\28uid=\\2a)');
  assert.equal(fillFilter('(uid={username})', { username: 'le*' }), '(uid=le\\2a)');
  assert.equal(fillFilter('(uid={username})', { username: 'a\\b\0c' }), '(uid=a\\5cb\\00c)');
  assert.equal(
    fillFilter('(|(member={dn})(memberUid={username}))', { username: 'x(', dn: 'cn=a\\,b,dc=x' }),
    '(|(member=cn=a\\5c,b,dc=x)(memberUid=x\\28))',
  );
});

test('whatever the name, the filled filter parses to one equality on the name itself', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 64, unit: 'grapheme' }), (name) => {
      const filter = FilterParser.parseString(fillFilter('(uid={username})', { username: name })) as unknown as {
        constructor: { name: string };
        attribute: string;
        value: string;
      };
      assert.equal(filter.constructor.name, 'EqualityFilter');
      assert.equal(filter.attribute, 'uid');
      assert.equal(filter.value, name);
    }),
    { numRuns: 500 },
  );
});

test('filters are checked, and the name attribute is read from the user filter', () => {
  assert.doesNotThrow(() => checkFilter('(&(objectClass=user)(sAMAccountName={username}))'));
  assert.throws(() => checkFilter('uid={username}'), /must be an LDAP filter in parentheses/);
  assert.throws(() => checkFilter('(&(uid={username})'), /is not an LDAP filter/);
  assert.equal(usernameAttribute('(&(objectClass=user)(sAMAccountName={username}))'), 'sAMAccountName');
  assert.equal(usernameAttribute('(uid={username})'), 'uid');
  assert.equal(usernameAttribute('(|(mail={username})(uid={username}))'), 'mail');
});

/* test_event.c - the event format: the vectors of docs/EVENTS.md byte for byte, every
 * rejection rule of event_parse, signatures, forums, and mutation sweeps. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/limits.h"
#include "base/mp.h"
#include "store/event.h"
#include "tests/unit/testutil.h"

#define T0 1718000000000ULL

static struct hkey A, B;

/* ---- the vectors of docs/EVENTS.md, section 15 ---- */

struct vector {
    const char *name, *id, *sig, *env;
};

enum {
    V_GENESIS,
    V_BOARD,
    V_POST,
    V_REPLY,
    V_EDIT,
    V_REACT,
    V_PROFILE,
    V_GRANT,
    V_MOD,
    V_REVOKE,
    V_RETRACT,
    V_RENAME,
    V_DEVICE,
    V_UNDEVICE,
    V_PURGED,
    N_VECTORS
};

static const struct vector vectors[N_VECTORS] = {
    {"genesis", "1062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989e",
     "a7e8c1329f4746758c8a632a62a436c55d4d53edc2d47bce55626acbc0a8923ace1980a53398fafe"
     "e831c474de01d9f422f2b665d58a5b14a2a8b924ac540b0b",
     "93c4559a01c0c42003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8"
     "01cf0000019000c79c0001c0c0c420b804de0b5b9ed9e71434a3eaea87c978713c392d0a05fd597a"
     "850eac81b6e22c65c440a7e8c1329f4746758c8a632a62a436c55d4d53edc2d47bce55626acbc0a8"
     "923ace1980a53398fafee831c474de01d9f422f2b665d58a5b14a2a8b924ac540b0bc46584a56162"
     "6f7574d9334b6961206f726120e28094207065657220737570706f727420666f7220746865205269"
     "76657262656e64206469737472696374a5666c61677303a4686f6c6401a46e616d65b65269766572"
     "62656e64205065657220537570706f7274"},
    {"board", "cd889b06f486818c5082603590a35e53dc532e7e2c01f01bae6df2534798a84b",
     "15c8da6deba4fea2adfb7d6a12de6832481bc8bf71e94b58a5191260bb19730b23b0c5993f995ce0"
     "e203c40e6ba77bf5203a437cc40e1ae273a019b4cd1dd80c",
     "93c4769a01c4201062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989ec4"
     "2003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b802cf0000019000"
     "c8866002c0c0c4202b27cad0e5016162be520e33256855ff839966955295fcef6d8cdb97fb35ab12"
     "33c44015c8da6deba4fea2adfb7d6a12de6832481bc8bf71e94b58a5191260bb19730b23b0c5993f"
     "995ce0e203c40e6ba77bf5203a437cc40e1ae273a019b4cd1dd80cc43382a561626f7574bf466f72"
     "2070656f706c652077686f206361726520666f7220736f6d656f6e65a46e616d65a6436172657273"},
    {"post", "a3a15b264cea598ebfab6b81975752d95f7729b5877a1286b70724fde045aa18",
     "c06043e186f1d696a5e110b47c29a4626ca309b0d198b53cb9af76aeef627c1a9a59c82ed0cce5de"
     "419b3023ec37f61c80a05dd8174630bb88a622735b9ffe0e",
     "93c4979a01c4201062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989ec4"
     "2029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd701cf0000019000"
     "c970c003c0c420cd889b06f486818c5082603590a35e53dc532e7e2c01f01bae6df2534798a84bc4"
     "20cdfc7ada7d38453b66657ae12c3ce2aa150f471da92a241c7ce3ec776f3ae36e72c440c06043e1"
     "86f1d696a5e110b47c29a4626ca309b0d198b53cb9af76aeef627c1a9a59c82ed0cce5de419b3023"
     "ec37f61c80a05dd8174630bb88a622735b9ffe0ec47283a26377a86c6f77206d6f6f64a474657874"
     "d93f536f6d6520646179732061726520686172642e20486f7720646f20796f75206b65657020676f"
     "696e67207768656e2074686520726f61647320636c6f73653fa57469746c65b84669727374207769"
     "6e746572206f6e20746865206661726d"},
    {"reply", "2dfc1c00f10e5ec664f52edf350631896bfccd47bac968a3bc006d4ddaf22186",
     "75c1c4caeeda16d79bbeacae4805abfdf33f84911e3e0fb7acd9d6dfdd4962b826aed81ff8e77bf4"
     "2d5ad13426abfeb78c1a8be8c6144e511dcdfbc748e85502",
     "93c4b89a01c4201062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989ec4"
     "2003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b803cf0000019000"
     "ca5b2004c420a3a15b264cea598ebfab6b81975752d95f7729b5877a1286b70724fde045aa18c420"
     "a3a15b264cea598ebfab6b81975752d95f7729b5877a1286b70724fde045aa18c42047a278897f1d"
     "c09f38d6491e503b0d6fc083ee1d84b72179f2119260895eb88a40c44075c1c4caeeda16d79bbeac"
     "ae4805abfdf33f84911e3e0fb7acd9d6dfdd4962b826aed81ff8e77bf42d5ad13426abfeb78c1a8b"
     "e8c6144e511dcdfbc748e85502c44081a474657874d938596f7520617265206e6f7420616c6f6e65"
     "2e20546865206c69627261727920687562206973206f70656e206f6e205468757273646179732e"},
    {"edit", "9db3bdd08edb1b6da9ba00729dc3bccdc9bf894e8a28855e011a58228529f01b",
     "d3eafd7095c1a252c8d1762df88c2e44d1b04a62f6fcf2b009e7ba9ebb5a6cde99bc685031637e5f"
     "d744a03e2de05f9339253845e6dfb195ccd517cdabfa2903",
     "93c4979a01c4201062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989ec4"
     "2029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd702cf0000019000"
     "cb458005c0c420a3a15b264cea598ebfab6b81975752d95f7729b5877a1286b70724fde045aa18c4"
     "2098de023f1872df49cac7b55a056f6e2193713ac6965bc1589035fa35c50c1f694bc440d3eafd70"
     "95c1a252c8d1762df88c2e44d1b04a62f6fcf2b009e7ba9ebb5a6cde99bc685031637e5fd744a03e"
     "2de05f9339253845e6dfb195ccd517cdabfa2903c44b81a474657874d943536f6d65206461797320"
     "61726520686172642e20486f7720646f20796f7520616c6c206b65657020676f696e67207768656e"
     "2074686520726f61647320636c6f73653f"},
    {"react", "f8bc89dc7fcb32e2543af0c6352579ddd9581c389c6079864836f0f6affeae70",
     "c76e47986703846f7b1629e7f9d37730641361b3b41e282d2aea5df1f12106400c55422743a8f744"
     "5477a57f48bf4517231f7c1b3fbe03c749603bfb936b2c0e",
     "93c4979a01c4201062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989ec4"
     "2003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b804cf0000019000"
     "cc2fe007c0c420a3a15b264cea598ebfab6b81975752d95f7729b5877a1286b70724fde045aa18c4"
     "2083211e4182dc2341c92217e283a7d464c173c0084f094603a52542199c65c7be12c440c76e4798"
     "6703846f7b1629e7f9d37730641361b3b41e282d2aea5df1f12106400c55422743a8f7445477a57f"
     "48bf4517231f7c1b3fbe03c749603bfb936b2c0ec41281a87265616374696f6ea7737570706f7274"},
    {"profile", "0f33c16b1ed2883839a627e15bf851dc6bddfcb80e1614298a21df8dc1dbfcd3",
     "79de43e644b57742101c00a6f7f6ddc9f449e5d67eb4b58807f2d89e24e14c5edde99b5f257aa708"
     "17fd24428642ee06428e8d3e905d87a62415f5873b1cd507",
     "93c4769a01c4201062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989ec4"
     "2029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd703cf0000019000"
     "cd1a4009c0c0c420074217ca1d4b9feedeeb6eee5c6a93e8e3a171da29277423662e76987942d29f"
     "2ac44079de43e644b57742101c00a6f7f6ddc9f449e5d67eb4b58807f2d89e24e14c5edde99b5f25"
     "7aa70817fd24428642ee06428e8d3e905d87a62415f5873b1cd507c42a82a561626f7574b6436172"
     "657220616e64207368656570206661726d6572a46e616d65a677696c6c6f77"},
    {"role grant", "2e6e690ce3560e788db050ebb659cbe13395159f58b3ce88c8d5eae3523ec826",
     "a4b4c2593201c4032f113d5cb1dcb920108ef6ac62918dd00ce98df3a1a6f63da82ebbd4262f5417"
     "06b572fafb16fc76f1805e868da1f31438e4cf56863ada03",
     "93c4769a01c4201062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989ec4"
     "2003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b805cf0000019000"
     "ce04a00ac0c0c42074be6d2a44c176c934755499f271b09fe76a87346461e7522d8f0e3a3b7695ff"
     "41c440a4b4c2593201c4032f113d5cb1dcb920108ef6ac62918dd00ce98df3a1a6f63da82ebbd426"
     "2f541706b572fafb16fc76f1805e868da1f31438e4cf56863ada03c44183a56772616e74c3a4726f"
     "6c65a96d6f64657261746f72a77375626a656374c42029acbae141bccaf0b22e1a94d34d0bc7361e"
     "526d0bfe12c89794bc9322966dd7"},
    {"mod hide", "fc0df67e29cb782aa7569969b67ed321c01c55b4a4570248ab7f5c1be5f0a0e2",
     "06544ebf07ee61e3f8af6475611618eb698ac17f17afc672a561c596805130b5d941b7eee7f0ae7c"
     "44e453ce4a3bb80a9f2de399f96285153ea0dfb21cd8fb07",
     "93c4979a01c4201062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989ec4"
     "2029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd704cf0000019000"
     "ceef000bc0c4202dfc1c00f10e5ec664f52edf350631896bfccd47bac968a3bc006d4ddaf22186c4"
     "209a6766fb585ae1582dd0524877bb354ac9c38035f52c517cc65bb6deed2b9edc2ac44006544ebf"
     "07ee61e3f8af6475611618eb698ac17f17afc672a561c596805130b5d941b7eee7f0ae7c44e453ce"
     "4a3bb80a9f2de399f96285153ea0dfb21cd8fb07c42a82a6616374696f6ea468696465a672656173"
     "6f6eb573686172657320612070686f6e65206e756d626572"},
    {"role revocation", "b36f4c24af7d5c1ced4eba1eb388dcd4137f69b16c8dfc84f2ed045d15e6dbf1",
     "9a51193d22c21c4cd43ed03081474f9ddccebb98ad6ef4b697ca7f6c77528227fdff1b3e35b00bc3"
     "036e4dc22ff380fd072933f932838b84893055d3681bb900",
     "93c4979a01c4201062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989ec4"
     "2003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b806cf0000019000"
     "cfd9600ac0c4202e6e690ce3560e788db050ebb659cbe13395159f58b3ce88c8d5eae3523ec826c4"
     "205b2e6db2175fd2b0dced28e874d8c905fc1f5df96c9089d403ef06bcd17aa08541c4409a51193d"
     "22c21c4cd43ed03081474f9ddccebb98ad6ef4b697ca7f6c77528227fdff1b3e35b00bc3036e4dc2"
     "2ff380fd072933f932838b84893055d3681bb900c44183a56772616e74c2a4726f6c65a96d6f6465"
     "7261746f72a77375626a656374c42029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c897"
     "94bc9322966dd7"},
    {"retract", "ce317a2d10cae92815699130155ff9cf6d3a288df970618d47cdb23d3a36f7a6",
     "577b0bacd6120c665779235052fc68428c7b9b164d277025aa8f54b906bd5b33ca21a99bf866cc2c"
     "2032beeb77f7741777c2895aa8cd5feb637029c72fec3f0e",
     "93c4979a01c4201062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989ec4"
     "2029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd705cf0000019000"
     "d0c3c006c0c420a3a15b264cea598ebfab6b81975752d95f7729b5877a1286b70724fde045aa18c4"
     "2045b0cfc220ceec5b7c1c62c4d4193d38e4eba48e8815729ce75f9c0ab0e4c1c001c440577b0bac"
     "d6120c665779235052fc68428c7b9b164d277025aa8f54b906bd5b33ca21a99bf866cc2c2032beeb"
     "77f7741777c2895aa8cd5feb637029c72fec3f0ec40180"},
    {"board rename", "15f75589ae3452c0395d415f3a6969ae814342d998b74dbfd474f4c053206a21",
     "8fb50a5e53b8b002b45f1168dca2429e5ecf59873bb57ebadf9a6e2a211bf12a81a912bab4ade36c"
     "4856a2bab4c4da2e2439645d43a4c0d5b0cf7e3a3032f90f",
     "93c4979a01c4201062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989ec4"
     "2003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b807cf0000019000"
     "d1ae2002c0c420cd889b06f486818c5082603590a35e53dc532e7e2c01f01bae6df2534798a84bc4"
     "20b6adb71234bd954080c9e907cccf3d18241aaa3681336684db6f59cd23dc464f55c4408fb50a5e"
     "53b8b002b45f1168dca2429e5ecf59873bb57ebadf9a6e2a211bf12a81a912bab4ade36c4856a2ba"
     "b4c4da2e2439645d43a4c0d5b0cf7e3a3032f90fc45582a561626f7574d933466f722070656f706c"
     "652077686f206361726520666f7220736f6d656f6e652c20616e642074686569722066616d696c69"
     "6573a46e616d65b343617265727320616e642066616d696c696573"},
    {"device add", "e093fc0538c17c8847bce209e4e3d78e45205108d396474aa2f88d0232117580",
     "4620236a8dc46f2dc88b9c96575c8d635343d29b350948441fff90051ae07f8ce2bf1598f4dc12bf"
     "ac614b62a63477e0d8adb0f78659ab17b399464b64f29c0d",
     "93c4769a01c4201062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989ec4"
     "2003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b80acf0000019000"
     "d298800fc0c0c420020d74d277fcdd6e343c3cd5223942072fac6609f7b72b94143d3add09d39193"
     "7ac4404620236a8dc46f2dc88b9c96575c8d635343d29b350948441fff90051ae07f8ce2bf1598f4"
     "dc12bfac614b62a63477e0d8adb0f78659ab17b399464b64f29c0dc47a83a56772616e74c3a57072"
     "6f6f66c440373618323b200a72b01180e80464cacd16b80cd87fc497e93725de0a260d4b43906caf"
     "94a9121cb58431f85f4fd2a9cbffdbf3ffc7429093d1380619f2d1e50fa77375626a656374c42029"
     "acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7"},
    {"device revocation", "d21f2c3aeb886dcd3d8908f0fd3330110a2927050149c13ea93eaddfec36b104",
     "4616676bf8c2fab0d4b1b5637a947599873e92e6d29fc3bafdca1ed0ae9a7e395c1597083fb4d656"
     "1a4843ec531ef2058d1dc6c385d6fa29ecdbaf4a61b7910d",
     "93c4769a01c4201062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989ec4"
     "2003a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b80bcf0000019000"
     "d382e00fc0c0c420b0b2fa8af20ca70e069ad126991f73104b96b3744c124dd1ede6c20de6407199"
     "39c4404616676bf8c2fab0d4b1b5637a947599873e92e6d29fc3bafdca1ed0ae9a7e395c1597083f"
     "b4d6561a4843ec531ef2058d1dc6c385d6fa29ecdbaf4a61b7910dc43983a56772616e74c2a77375"
     "626a656374c42029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd7a5"
     "756e74696c05"},
    {"purged post", "a3a15b264cea598ebfab6b81975752d95f7729b5877a1286b70724fde045aa18",
     "c06043e186f1d696a5e110b47c29a4626ca309b0d198b53cb9af76aeef627c1a9a59c82ed0cce5de"
     "419b3023ec37f61c80a05dd8174630bb88a622735b9ffe0e",
     "93c4979a01c4201062bf04a92e0a304194cdce14a856bff85c2e6c16969c74846d46a114de989ec4"
     "2029acbae141bccaf0b22e1a94d34d0bc7361e526d0bfe12c89794bc9322966dd701cf0000019000"
     "c970c003c0c420cd889b06f486818c5082603590a35e53dc532e7e2c01f01bae6df2534798a84bc4"
     "20cdfc7ada7d38453b66657ae12c3ce2aa150f471da92a241c7ce3ec776f3ae36e72c440c06043e1"
     "86f1d696a5e110b47c29a4626ca309b0d198b53cb9af76aeef627c1a9a59c82ed0cce5de419b3023"
     "ec37f61c80a05dd8174630bb88a622735b9ffe0ec0"},
};

/* unhex - decode a hex string; the caller frees the result. */
static uint8_t *unhex(const char *s, size_t *n)
{
    *n = strlen(s) / 2;
    uint8_t *out = malloc(*n ? *n : 1);
    assert_non_null(out);
    assert_int_equal(hex_decode(out, *n, s), HERR_OK);
    return out;
}

static int setup(void **state)
{
    uint8_t seed[HEARTH_SEED_LEN];
    if (crypto_start())
        return -1;
    testutil_seed(seed, 0);
    hkey_from_seed(&A, seed);
    testutil_seed(seed, 32);
    hkey_from_seed(&B, seed);
    return 0;
}

#define S(lit) ((struct hstr){lit, sizeof(lit) - 1})

/* build_vectors - make every vector's envelope with event_build, as the generator of
 * the document did; env[i] must be released by the caller. */
static void build_vectors(struct hbuf env[N_VECTORS], uint8_t id[N_VECTORS][HEARTH_ID_LEN])
{
    struct event_draft d[N_VECTORS - 1];
    const struct hkey *key[N_VECTORS - 1] = {&A, &A, &B, &A, &B, &A, &B,
                                             &A, &B, &A, &B, &A, &A, &A};
    static uint8_t proof[HEARTH_SIG_LEN];
    memset(d, 0, sizeof d);
    d[V_GENESIS] = (struct event_draft){.kind = EK_GENESIS, .seq = 1, .created = T0};
    d[V_GENESIS].b.name = S("Riverbend Peer Support");
    d[V_GENESIS].b.about = S("Kia ora \xe2\x80\x94 peer support for the Riverbend district");
    d[V_GENESIS].b.has_hold = true, d[V_GENESIS].b.hold = 1;
    d[V_GENESIS].b.has_flags = true, d[V_GENESIS].b.flags = 3;
    d[V_BOARD] = (struct event_draft){.kind = EK_BOARD, .seq = 2, .created = T0 + 60000};
    d[V_BOARD].b.name = S("Carers");
    d[V_BOARD].b.about = S("For people who care for someone");
    d[V_POST] = (struct event_draft){.kind = EK_POST, .seq = 1, .created = T0 + 120000};
    d[V_POST].b.title = S("First winter on the farm");
    d[V_POST].b.text = S("Some days are hard. How do you keep going when the roads close?");
    d[V_POST].b.cw = S("low mood");
    d[V_REPLY] = (struct event_draft){.kind = EK_REPLY, .seq = 3, .created = T0 + 180000};
    d[V_REPLY].b.text = S("You are not alone. The library hub is open on Thursdays.");
    d[V_EDIT] = (struct event_draft){.kind = EK_EDIT, .seq = 2, .created = T0 + 240000};
    d[V_EDIT].b.text = S("Some days are hard. How do you all keep going when the roads close?");
    d[V_REACT] = (struct event_draft){.kind = EK_REACT, .seq = 4, .created = T0 + 300000};
    d[V_REACT].b.reaction = S("support");
    d[V_PROFILE] = (struct event_draft){.kind = EK_PROFILE, .seq = 3, .created = T0 + 360000};
    d[V_PROFILE].b.name = S("willow");
    d[V_PROFILE].b.about = S("Carer and sheep farmer");
    d[V_GRANT] = (struct event_draft){.kind = EK_ROLE, .seq = 5, .created = T0 + 420000};
    d[V_GRANT].b.subject = B.pk, d[V_GRANT].b.role = S("moderator");
    d[V_GRANT].b.has_grant = true, d[V_GRANT].b.grant = true;
    d[V_MOD] = (struct event_draft){.kind = EK_MOD, .seq = 4, .created = T0 + 480000};
    d[V_MOD].b.action = S("hide"), d[V_MOD].b.reason = S("shares a phone number");
    d[V_REVOKE] = (struct event_draft){.kind = EK_ROLE, .seq = 6, .created = T0 + 540000};
    d[V_REVOKE].b.subject = B.pk, d[V_REVOKE].b.role = S("moderator");
    d[V_REVOKE].b.has_grant = true, d[V_REVOKE].b.grant = false;
    d[V_RETRACT] = (struct event_draft){.kind = EK_RETRACT, .seq = 5, .created = T0 + 600000};
    d[V_RENAME] = (struct event_draft){.kind = EK_BOARD, .seq = 7, .created = T0 + 660000};
    d[V_RENAME].b.name = S("Carers and families");
    d[V_RENAME].b.about = S("For people who care for someone, and their families");
    d[V_DEVICE] = (struct event_draft){.kind = EK_DEVICE, .seq = 10, .created = T0 + 720000};
    d[V_DEVICE].b.subject = B.pk, d[V_DEVICE].b.proof = proof;
    d[V_DEVICE].b.has_grant = true, d[V_DEVICE].b.grant = true;
    d[V_UNDEVICE] = (struct event_draft){.kind = EK_DEVICE, .seq = 11, .created = T0 + 780000};
    d[V_UNDEVICE].b.subject = B.pk;
    d[V_UNDEVICE].b.has_grant = true, d[V_UNDEVICE].b.grant = false;
    d[V_UNDEVICE].b.has_until = true, d[V_UNDEVICE].b.until = 5;

    for (int i = 0; i < N_VECTORS - 1; i++) {
        const char *why = NULL;
        /* References to earlier vectors, known only once those are built. */
        if (i != V_GENESIS)
            d[i].forum = id[V_GENESIS];
        if (i == V_POST)
            d[i].ref = id[V_BOARD];
        if (i == V_REPLY)
            d[i].root = id[V_POST], d[i].ref = id[V_POST];
        if (i == V_EDIT || i == V_REACT || i == V_RETRACT)
            d[i].ref = id[V_POST];
        if (i == V_MOD)
            d[i].ref = id[V_REPLY];
        if (i == V_REVOKE)
            d[i].ref = id[V_GRANT];
        if (i == V_RENAME)
            d[i].ref = id[V_BOARD];
        if (i == V_DEVICE) /* B's proof that it is A's device in this forum */
            device_proof_sign(proof, id[V_GENESIS], A.pk, &B);
        hbuf_init(&env[i], HEARTH_MAX_EVENT);
        herr e = event_build(&d[i], key[i], &env[i], id[i], &why);
        if (e)
            fail_msg("build %s: %s (%s)", vectors[i].name, herr_str(e), why);
    }
    /* The purged post: the post's header and signature with a nil body. */
    struct event ev;
    assert_int_equal(event_parse(&ev, env[V_POST].data, env[V_POST].len, NULL), HERR_OK);
    hbuf_init(&env[V_PURGED], HEARTH_MAX_EVENT);
    assert_int_equal(event_envelope(&env[V_PURGED], ev.header, ev.header_len, ev.sig, NULL, 0),
                     HERR_OK);
    memcpy(id[V_PURGED], ev.id, HEARTH_ID_LEN);
}

static void test_vectors_build(void **state)
{
    struct hbuf env[N_VECTORS];
    uint8_t id[N_VECTORS][HEARTH_ID_LEN];
    build_vectors(env, id);
    for (int i = 0; i < N_VECTORS; i++) {
        size_t n;
        uint8_t *want = unhex(vectors[i].env, &n);
        char idhex[2 * HEARTH_ID_LEN + 1];
        hex_encode(idhex, id[i], HEARTH_ID_LEN);
        if (env[i].len != n || memcmp(env[i].data, want, n) != 0)
            fail_msg("vector %s: built envelope differs", vectors[i].name);
        assert_string_equal(idhex, vectors[i].id);
        free(want);
        hbuf_release(&env[i]);
    }
}

static void test_vectors_parse(void **state)
{
    for (int i = 0; i < N_VECTORS; i++) {
        size_t n, sn;
        uint8_t *buf = unhex(vectors[i].env, &n);
        uint8_t *sig = unhex(vectors[i].sig, &sn);
        struct event ev;
        const char *why = NULL;
        herr e = event_parse(&ev, buf, n, &why);
        if (e)
            fail_msg("vector %s: %s (%s)", vectors[i].name, herr_str(e), why);
        assert_int_equal(event_verify(&ev), HERR_OK);
        char idhex[2 * HEARTH_ID_LEN + 1];
        hex_encode(idhex, ev.id, HEARTH_ID_LEN);
        assert_string_equal(idhex, vectors[i].id);
        assert_int_equal(sn, HEARTH_SIG_LEN);
        assert_memory_equal(ev.sig, sig, HEARTH_SIG_LEN);
        bool by_a =
            ((i == V_GENESIS || i % 2 == 1) && i != V_PURGED) || i == V_DEVICE || i == V_UNDEVICE;
        assert_memory_equal(ev.author, by_a ? A.pk : B.pk, HEARTH_PK_LEN);
        assert_int_equal(ev.version, 1);
        free(buf);
        free(sig);
    }
}

/* A few decoded fields, to show the vectors say what the document says they do. */
static void test_vectors_fields(void **state)
{
    size_t n;
    struct event ev;
    uint8_t *g = unhex(vectors[V_GENESIS].env, &n);
    assert_int_equal(event_parse(&ev, g, n, NULL), HERR_OK);
    assert_false(ev.has_forum);
    assert_int_equal(ev.kind, EK_GENESIS);
    assert_int_equal(ev.seq, 1);
    assert_true(ev.created == T0);
    assert_true(ev.b.has_hold && ev.b.hold == 1 && ev.b.has_flags && ev.b.flags == 3);
    assert_int_equal(ev.b.about.n, 51);
    free(g);

    uint8_t *p = unhex(vectors[V_PURGED].env, &n);
    assert_int_equal(event_parse(&ev, p, n, NULL), HERR_OK);
    assert_null(ev.body);
    assert_null(ev.b.text.p);
    assert_int_equal(ev.kind, EK_POST);
    free(p);

    uint8_t *r = unhex(vectors[V_REVOKE].env, &n);
    assert_int_equal(event_parse(&ev, r, n, NULL), HERR_OK);
    assert_true(ev.has_ref && ev.b.has_grant && !ev.b.grant);
    char refhex[2 * HEARTH_ID_LEN + 1];
    hex_encode(refhex, ev.ref, HEARTH_ID_LEN);
    assert_string_equal(refhex, vectors[V_GRANT].id);
    assert_memory_equal(ev.b.subject, B.pk, HEARTH_PK_LEN);
    free(r);
}

/* read_doc - docs/EVENTS.md with every whitespace byte removed, or NULL when the
 * source tree is not where this file was compiled from. */
static char *read_doc(void)
{
    char path[4096];
    const char *here = __FILE__;
    const char *cut = strstr(here, "tests/unit/test_event.c");
    if (!cut || (size_t)(cut - here) + 20 > sizeof path)
        return NULL;
    snprintf(path, sizeof path, "%.*sdocs/EVENTS.md", (int)(cut - here), here);
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, len = 0;
    char *doc = malloc(cap);
    assert_non_null(doc);
    int c;
    while ((c = fgetc(f)) != EOF && len + 1 < cap)
        if (c != ' ' && c != '\n' && c != '\t' && c != '\r')
            doc[len++] = (char)c;
    doc[len] = 0;
    fclose(f);
    return doc;
}

/* The document and this test hold the same bytes. */
static void test_vectors_in_doc(void **state)
{
    char *doc = read_doc();
    if (!doc) {
        skip();
        return;
    }
    for (int i = 0; i < N_VECTORS; i++) {
        if (!strstr(doc, vectors[i].env))
            fail_msg("docs/EVENTS.md lacks the envelope of %s", vectors[i].name);
        if (!strstr(doc, vectors[i].id) || !strstr(doc, vectors[i].sig))
            fail_msg("docs/EVENTS.md lacks the id or signature of %s", vectors[i].name);
    }
    free(doc);
}

/* ---- hand-made events, to break one rule at a time ---- */

/* A body pair: its key, and a value of one type. */
enum vt { VSTR, VUINT, VBOOL, VBIN, VNIL, VARRAY, VMAP };
struct kv {
    const char *k;
    enum vt t;
    const char *s; /* VSTR: NUL-terminated unless n is set; VBIN: the bytes */
    size_t n;      /* VSTR / VBIN length; 0 means strlen for VSTR */
    uint64_t u;    /* VUINT, VBOOL */
};
#define KS(key, str) ((struct kv){key, VSTR, str, 0, 0})
#define KU(key, v) ((struct kv){key, VUINT, NULL, 0, v})
#define KB(key, v) ((struct kv){key, VBOOL, NULL, 0, v})
#define KBIN(key, p, len) ((struct kv){key, VBIN, (const char *)(p), len, 0})

/* An event as raw parts, encoded without event_build's checks. */
struct spec {
    uint64_t version, seq, created, kind;
    const uint8_t *forum, *root, *ref;
    const struct hkey *key;
    struct kv kv[20];
    int nkv;
    bool nil_body, bad_hash;
    long len_delta;
};

static const uint8_t F[HEARTH_ID_LEN] = {0xf0, 0x0d, 1, 2, 3};
static const uint8_t X[HEARTH_ID_LEN] = {0xaa, 0xbb, 9, 8, 7};
static const uint8_t Y[HEARTH_ID_LEN] = {0xcc, 0xdd, 6, 5, 4};

/* spec_valid - a minimal valid event of kind k by author A. */
/* A sealed message's shape with A as its one reader (event_parse checks the shape,
 * not what it opens to). */
static const uint8_t *fake_sealed(size_t *n)
{
    static uint8_t b[HEARTH_MSG_HEAD + HEARTH_MSG_READER + 1 + HEARTH_MSG_TAG];
    b[0] = HEARTH_MSG_VERSION;
    b[HEARTH_MSG_HEAD - 1] = 1;
    memcpy(b + HEARTH_MSG_HEAD, A.pk, HEARTH_PK_LEN);
    *n = sizeof b;
    return b;
}

static struct spec spec_valid(uint32_t k)
{
    struct spec s = {.version = 1, .seq = 2, .created = T0, .kind = k, .forum = F, .key = &A};
    switch (k) {
    case EK_GENESIS:
        s.forum = NULL, s.seq = 1;
        s.kv[s.nkv++] = KS("name", "Forum");
        break;
    case EK_BOARD:
        s.kv[s.nkv++] = KS("name", "Board");
        break;
    case EK_POST:
        s.ref = X;
        s.kv[s.nkv++] = KS("text", "hello");
        s.kv[s.nkv++] = KS("title", "Hi");
        break;
    case EK_REPLY:
        s.root = X, s.ref = Y;
        s.kv[s.nkv++] = KS("text", "hello");
        break;
    case EK_EDIT:
        s.ref = X;
        s.kv[s.nkv++] = KS("text", "hello again");
        break;
    case EK_RETRACT:
        s.ref = X;
        break;
    case EK_REACT:
        s.ref = X;
        s.kv[s.nkv++] = KS("reaction", "hug");
        break;
    case EK_FLAG:
        s.ref = X;
        s.kv[s.nkv++] = KS("reason", "spam");
        break;
    case EK_PROFILE:
        s.kv[s.nkv++] = KS("name", "fern");
        break;
    case EK_ROLE:
        s.kv[s.nkv++] = KB("grant", 1);
        s.kv[s.nkv++] = KS("role", "admin");
        s.kv[s.nkv++] = KBIN("subject", B.pk, HEARTH_PK_LEN);
        break;
    case EK_MOD:
        s.ref = X;
        s.kv[s.nkv++] = KS("action", "hide");
        s.kv[s.nkv++] = KS("reason", "unkind");
        break;
    case EK_RESOURCES:
        s.kv[s.nkv++] = KS("text", "Call 0800 000 000");
        break;
    case EK_SETTINGS:
        s.kv[s.nkv++] = KU("hold", 2);
        break;
    case EK_MESSAGE: {
        size_t n;
        const uint8_t *b = fake_sealed(&n);
        s.kv[s.nkv++] = KBIN("sealed", b, n);
        s.kv[s.nkv++] = KBIN("subject", A.pk, HEARTH_PK_LEN);
        break;
    }
    case EK_DEVICE: /* a revocation: the add needs a proof (test_device_rules) */
        s.kv[s.nkv++] = KB("grant", 0);
        s.kv[s.nkv++] = KBIN("subject", B.pk, HEARTH_PK_LEN);
        break;
    default:
        break;
    }
    return s;
}

/* spec_drop - remove the pair with key k. */
static void spec_drop(struct spec *s, const char *k)
{
    for (int i = 0; i < s->nkv; i++) {
        if (strcmp(s->kv[i].k, k) == 0) {
            memmove(&s->kv[i], &s->kv[i + 1], (size_t)(s->nkv - i - 1) * sizeof s->kv[0]);
            s->nkv--;
            return;
        }
    }
    fail_msg("no key %s", k);
}

/* spec_add - insert a pair keeping the keys in byte order (a prefix first). */
static void spec_add(struct spec *s, struct kv kv)
{
    int i = 0;
    while (i < s->nkv && strcmp(s->kv[i].k, kv.k) < 0)
        i++;
    memmove(&s->kv[i + 1], &s->kv[i], (size_t)(s->nkv - i) * sizeof s->kv[0]);
    s->kv[i] = kv;
    s->nkv++;
}

static void write_body(const struct spec *s, struct hbuf *out)
{
    struct mp_writer w;
    mp_writer_init(&w, out);
    mp_write_map(&w, (uint32_t)s->nkv);
    for (int i = 0; i < s->nkv; i++) {
        const struct kv *kv = &s->kv[i];
        mp_write_str(&w, kv->k, strlen(kv->k));
        switch (kv->t) {
        case VSTR:
            mp_write_str(&w, kv->s, kv->n ? kv->n : strlen(kv->s));
            break;
        case VUINT:
            mp_write_uint(&w, kv->u);
            break;
        case VBOOL:
            mp_write_bool(&w, kv->u != 0);
            break;
        case VBIN:
            mp_write_bin(&w, kv->s, kv->n);
            break;
        case VNIL:
            mp_write_nil(&w);
            break;
        case VARRAY:
            mp_write_array(&w, 1);
            mp_write_uint(&w, 1);
            break;
        case VMAP:
            mp_write_map(&w, 1);
            mp_write_str(&w, "a", 1);
            mp_write_uint(&w, 1);
            break;
        }
    }
    assert_int_equal(mp_writer_status(&w), HERR_OK);
}

static void write_ref(struct mp_writer *w, const uint8_t *ref)
{
    if (ref)
        mp_write_bin(w, ref, HEARTH_ID_LEN);
    else
        mp_write_nil(w);
}

/* seal - sign header h with k and frame it with body (NULL: purged) into env. */
static void seal(struct hbuf *env, const uint8_t *h, size_t hn, const uint8_t *body, size_t bn,
                 const struct hkey *k)
{
    uint8_t sig[HEARTH_SIG_LEN];
    sign_detached(sig, EVENT_SIG_TAG, h, hn, k);
    hbuf_reset(env);
    assert_int_equal(event_envelope(env, h, hn, sig, body, bn), HERR_OK);
}

/* encode_body - the envelope of s, header fields as given, with body[0..bn) as its body. */
static void encode_body(const struct spec *s, const uint8_t *body, size_t bn, struct hbuf *env)
{
    struct hbuf h;
    struct mp_writer w;
    uint8_t hash[HEARTH_ID_LEN];
    hash_id(hash, body, bn);
    if (s->bad_hash)
        hash[7] ^= 0x10;
    hbuf_init(&h, 4096);
    mp_writer_init(&w, &h);
    mp_write_array(&w, 10);
    mp_write_uint(&w, s->version);
    write_ref(&w, s->forum);
    mp_write_bin(&w, s->key->pk, HEARTH_PK_LEN);
    mp_write_uint(&w, s->seq);
    mp_write_uint(&w, s->created);
    mp_write_uint(&w, s->kind);
    write_ref(&w, s->root);
    write_ref(&w, s->ref);
    mp_write_bin(&w, hash, HEARTH_ID_LEN);
    mp_write_uint(&w, (uint64_t)((long)bn + s->len_delta));
    assert_int_equal(mp_writer_status(&w), HERR_OK);
    seal(env, h.data, h.len, s->nil_body ? NULL : body, bn, s->key);
    hbuf_release(&h);
}

static void encode(const struct spec *s, struct hbuf *env)
{
    struct hbuf body;
    hbuf_init(&body, HEARTH_MAX_BODY + 1024);
    write_body(s, &body);
    encode_body(s, body.data, body.len, env);
    hbuf_release(&body);
}

/* parse_env - parse (and, when it parses, verify) an envelope. */
static herr parse_env(const uint8_t *p, size_t n, const char **why)
{
    struct event ev;
    herr e = event_parse(&ev, p, n, why);
    if (!e)
        assert_int_equal(event_verify(&ev), HERR_OK);
    return e;
}

static herr parse_spec(const struct spec *s, const char **why)
{
    struct hbuf env;
    hbuf_init(&env, 2 * HEARTH_MAX_EVENT);
    encode(s, &env);
    herr e = parse_env(env.data, env.len, why);
    hbuf_release(&env);
    return e;
}

/* expect - s is rejected with code and exactly reason (or accepted, for HERR_OK). */
static void expect_(const struct spec *s, herr code, const char *reason, int line)
{
    const char *why = NULL;
    herr e = parse_spec(s, &why);
    if (e != code || (reason && strcmp(why, reason) != 0))
        fail_msg("line %d: got %s \"%s\", want %s \"%s\"", line, herr_str(e), why ? why : "",
                 herr_str(code), reason ? reason : "");
}
#define expect(s, code, reason) expect_(s, code, reason, __LINE__)

static void test_valid_specs(void **state)
{
    for (uint32_t k = 1; k <= EK_MAX_KIND; k++) {
        struct spec s = spec_valid(k);
        expect(&s, HERR_OK, NULL);
    }
}

/* An envelope written field by field, each part chosen by the test. */
static void test_wrong_envelope(void **state)
{
    const char *why;
    struct {
        const char *p;
        size_t n;
        herr code;
        const char *reason;
    } cases[] = {
        {"", 0, HERR_MALFORMED, "not an event envelope"},
        {"\xc0", 1, HERR_MALFORMED, "not an event envelope"},
        {"\x90", 1, HERR_MALFORMED, "not an event envelope"},
        {"\x92\xc4\x00\xc4\x00", 5, HERR_MALFORMED, "not an event envelope"},
        {"\x94\xc4\x00\xc4\x00\xc0\xc0", 7, HERR_MALFORMED, "not an event envelope"},
        {"\x83\xc0\xc0\xc0\xc0\xc0\xc0", 7, HERR_MALFORMED, "not an event envelope"},
        {"\xdc\x00\x03\xc4\x00\xc4\x00\xc0", 8, HERR_NONCANONICAL, "not an event envelope"},
        {"\x93\xa1x\xc4\x00\xc0", 6, HERR_MALFORMED, "header is not a bin"},
        {"\x93\xc4\x01\x00\xc0\xc0", 6, HERR_MALFORMED, "signature is not 64 bytes"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(parse_env((const uint8_t *)cases[i].p, cases[i].n, &why), cases[i].code);
        assert_string_equal(why, cases[i].reason);
    }
}

/* frame - an envelope of arbitrary parts: header bytes, a sig of sig_len bytes, and a
 * body given as already-encoded msgpack bytes. */
static void frame(struct hbuf *env, const uint8_t *h, size_t hn, size_t sig_len,
                  const void *body_mp, size_t body_mp_len)
{
    struct mp_writer w;
    uint8_t sig[100] = {0};
    hbuf_reset(env);
    mp_writer_init(&w, env);
    mp_write_array(&w, 3);
    mp_write_bin(&w, h, hn);
    mp_write_bin(&w, sig, sig_len);
    assert_int_equal(mp_writer_status(&w), HERR_OK);
    assert_int_equal(hbuf_append(env, body_mp, body_mp_len), HERR_OK);
}

static void test_envelope_parts(void **state)
{
    size_t n;
    uint8_t *v = unhex(vectors[V_BOARD].env, &n);
    struct event ev;
    const char *why;
    struct hbuf env;
    hbuf_init(&env, 2 * HEARTH_MAX_EVENT);
    assert_int_equal(event_parse(&ev, v, n, NULL), HERR_OK);
    for (size_t sl = 0; sl < 100; sl++) {
        if (sl == HEARTH_SIG_LEN)
            continue;
        frame(&env, ev.header, ev.header_len, sl, "\xc0", 1);
        assert_int_equal(parse_env(env.data, env.len, &why), HERR_MALFORMED);
        assert_string_equal(why, "signature is not 64 bytes");
    }
    /* A body that is neither bin nor nil. */
    const char *bodies[] = {"\x80", "\xa0", "\x00", "\xc3", "\x90"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        frame(&env, ev.header, ev.header_len, HEARTH_SIG_LEN, bodies[i], 1);
        assert_int_equal(parse_env(env.data, env.len, &why), HERR_MALFORMED);
        assert_string_equal(why, "body is not a bin or nil");
    }
    hbuf_release(&env);
    free(v);
}

static void test_trailing_bytes(void **state)
{
    size_t n;
    uint8_t *v = unhex(vectors[V_POST].env, &n);
    uint8_t *w = malloc(n + 1);
    assert_non_null(w);
    memcpy(w, v, n);
    const char *why;
    for (unsigned b = 0; b < 256; b += 51) {
        w[n] = (uint8_t)b;
        assert_int_equal(parse_env(w, n + 1, &why), HERR_MALFORMED);
        assert_string_equal(why, "trailing bytes after event");
    }
    free(v);
    free(w);
}

static void test_too_large(void **state)
{
    const char *why;
    uint8_t *big = calloc(1, HEARTH_MAX_EVENT + 1);
    assert_non_null(big);
    assert_int_equal(parse_env(big, HEARTH_MAX_EVENT + 1, &why), HERR_TOO_LARGE);
    assert_string_equal(why, "event too large");

    struct hbuf env;
    hbuf_init(&env, 2 * HEARTH_MAX_EVENT);
    /* A 513-byte header. */
    frame(&env, big, HEARTH_MAX_HEADER + 1, HEARTH_SIG_LEN, "\xc0", 1);
    assert_int_equal(parse_env(env.data, env.len, &why), HERR_TOO_LARGE);
    assert_string_equal(why, "header too large");
    /* A body bin of 65537 bytes. */
    struct spec s = spec_valid(EK_POST);
    encode(&s, &env);
    struct event ev;
    assert_int_equal(event_parse(&ev, env.data, env.len, NULL), HERR_OK);
    struct hbuf h;
    hbuf_init(&h, 1024);
    assert_int_equal(hbuf_append(&h, ev.header, ev.header_len), HERR_OK);
    struct hbuf body;
    hbuf_init(&body, 2 * HEARTH_MAX_BODY);
    struct mp_writer w;
    mp_writer_init(&w, &body);
    mp_write_bin(&w, big, HEARTH_MAX_BODY + 1);
    assert_int_equal(mp_writer_status(&w), HERR_OK);
    frame(&env, h.data, h.len, HEARTH_SIG_LEN, body.data, body.len);
    assert_int_equal(parse_env(env.data, env.len, &why), HERR_TOO_LARGE);
    assert_string_equal(why, "body too large");
    /* A header that declares a body above the maximum. */
    s.len_delta = HEARTH_MAX_BODY + 1 - (long)ev.body_len;
    expect(&s, HERR_TOO_LARGE, "body too large");
    hbuf_release(&h);
    hbuf_release(&body);
    hbuf_release(&env);
    free(big);
}

/* parse_header_bytes - parse an envelope whose header is h[0..hn), signed by A. */
static herr parse_header_bytes(const void *h, size_t hn, const char **why)
{
    struct hbuf env;
    hbuf_init(&env, 2 * HEARTH_MAX_EVENT);
    seal(&env, h, hn, (const uint8_t *)"\x80", 1, &A);
    herr e = parse_env(env.data, env.len, why);
    hbuf_release(&env);
    return e;
}

/* retract_header - a valid retract header written by hand, with field `skip` replaced
 * by raw bytes. */
static void retract_header(struct hbuf *h, uint32_t count, int skip, const void *raw, size_t rawn)
{
    struct mp_writer w;
    uint8_t hash[HEARTH_ID_LEN];
    hash_id(hash, "\x80", 1);
    hbuf_reset(h);
    mp_writer_init(&w, h);
    mp_write_array(&w, count);
    for (int i = 0; i < 10; i++) {
        if (i == skip) {
            assert_int_equal(hbuf_append(h, raw, rawn), HERR_OK);
            continue;
        }
        switch (i) {
        case 0:
            mp_write_uint(&w, 1);
            break;
        case 1:
            mp_write_bin(&w, F, HEARTH_ID_LEN);
            break;
        case 2:
            mp_write_bin(&w, A.pk, HEARTH_PK_LEN);
            break;
        case 3:
            mp_write_uint(&w, 7);
            break;
        case 4:
            mp_write_uint(&w, T0);
            break;
        case 5:
            mp_write_uint(&w, EK_RETRACT);
            break;
        case 6:
            mp_write_nil(&w);
            break;
        case 7:
            mp_write_bin(&w, X, HEARTH_ID_LEN);
            break;
        case 8:
            mp_write_bin(&w, hash, HEARTH_ID_LEN);
            break;
        case 9:
            mp_write_uint(&w, 1);
            break;
        }
    }
    assert_int_equal(mp_writer_status(&w), HERR_OK);
}

static void test_header_shape(void **state)
{
    const char *why;
    struct hbuf h;
    hbuf_init(&h, 4096);
    retract_header(&h, 10, -1, NULL, 0);
    assert_int_equal(parse_header_bytes(h.data, h.len, &why), HERR_OK);

    retract_header(&h, 9, -1, NULL, 0);
    assert_int_equal(parse_header_bytes(h.data, h.len, &why), HERR_MALFORMED);
    retract_header(&h, 11, -1, NULL, 0);
    assert_int_equal(parse_header_bytes(h.data, h.len, &why), HERR_MALFORMED);
    assert_string_equal(why, "header has the wrong number of fields");

    /* Ten fields and then one more byte inside the header bin. */
    retract_header(&h, 10, -1, NULL, 0);
    assert_int_equal(hbuf_append(&h, "\xc0", 1), HERR_OK);
    assert_int_equal(parse_header_bytes(h.data, h.len, &why), HERR_MALFORMED);
    assert_string_equal(why, "trailing bytes after header");

    assert_int_equal(parse_header_bytes("\x90", 1, &why), HERR_MALFORMED);
    assert_string_equal(why, "header is empty");
    assert_int_equal(parse_header_bytes("\x80", 1, &why), HERR_MALFORMED);
    assert_string_equal(why, "header is not an array");
    assert_int_equal(parse_header_bytes("", 0, &why), HERR_MALFORMED);
    assert_string_equal(why, "header is not an array");
    assert_int_equal(parse_header_bytes("\xdc\x00\x01\x01", 4, &why), HERR_NONCANONICAL);

    /* Each field in a wrong type, and in a non-canonical encoding. */
    static const struct {
        int field;
        const char *raw;
        size_t n;
        herr code;
        const char *reason;
    } cases[] = {
        {0, "\xa1\x31", 2, HERR_MALFORMED, "header version is not an unsigned integer"},
        {0, "\xcc\x01", 2, HERR_NONCANONICAL, "header version is not an unsigned integer"},
        {1, "\xc4\x01\x00", 3, HERR_MALFORMED, "forum is not a 32-byte id or nil"},
        {1, "\x01", 1, HERR_MALFORMED, "forum is not a 32-byte id or nil"},
        {2, "\xc0", 1, HERR_MALFORMED, "author is not a 32-byte key"},
        {3, "\xcc\x07", 2, HERR_NONCANONICAL, "seq is not an unsigned integer"},
        {3, "\xd0\x07", 2, HERR_MALFORMED, "seq is not an unsigned integer"},
        {4, "\xc0", 1, HERR_MALFORMED, "created is not an unsigned integer"},
        {4, "\xcf\x00\x00\x00\x00\x00\x00\x00\x01", 9, HERR_NONCANONICAL,
         "created is not an unsigned integer"},
        {5, "\xa1\x36", 2, HERR_MALFORMED, "kind is not an unsigned integer"},
        {6, "\xc2", 1, HERR_MALFORMED, "root is not a 32-byte id or nil"},
        {7, "\x90", 1, HERR_MALFORMED, "ref is not a 32-byte id or nil"},
        {8, "\xc0", 1, HERR_MALFORMED, "body hash is not 32 bytes"},
        {9, "\xcd\x00\x01", 3, HERR_NONCANONICAL, "body length is not an unsigned integer"},
        {9, "\xff", 1, HERR_MALFORMED, "body length is not an unsigned integer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        retract_header(&h, 10, cases[i].field, cases[i].raw, cases[i].n);
        assert_int_equal(parse_header_bytes(h.data, h.len, &why), cases[i].code);
        assert_string_equal(why, cases[i].reason);
    }
    hbuf_release(&h);
}

static void test_unknown_version(void **state)
{
    const char *why;
    struct hbuf h;
    hbuf_init(&h, 4096);
    const char *versions[] = {"\x00", "\x02", "\x7f", "\xcc\xff",
                              "\xcf\xff\xff\xff\xff\xff\xff\xff\xff"};
    const size_t vlen[] = {1, 1, 1, 2, 9};
    for (size_t i = 0; i < sizeof versions / sizeof versions[0]; i++) {
        retract_header(&h, 10, 0, versions[i], vlen[i]);
        assert_int_equal(parse_header_bytes(h.data, h.len, &why), HERR_VERSION);
        assert_string_equal(why, "unknown event format version");
    }
    /* Another version may have another shape: the version decides first. */
    assert_int_equal(parse_header_bytes("\x91\x02", 2, &why), HERR_VERSION);
    assert_int_equal(parse_header_bytes("\x93\x02\xa1x\x90", 5, &why), HERR_VERSION);
    assert_int_equal(parse_header_bytes("\x91\x01", 2, &why), HERR_MALFORMED);
    /* Through the spec builder as well. */
    struct spec s = spec_valid(EK_POST);
    s.version = 2;
    expect(&s, HERR_VERSION, "unknown event format version");
    hbuf_release(&h);
}

static void test_unknown_kind(void **state)
{
    uint64_t kinds[] = {0, HEARTH_MAX_KIND + 1, 65536, UINT64_MAX};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        struct spec s = spec_valid(EK_BOARD);
        s.kind = kinds[i];
        expect(&s, HERR_KIND, "unknown event kind");
    }
}

/* A kind above the known ones, up to HEARTH_MAX_KIND, is stored unread: any known
 * field of its type, any references, unknown scalars; never a nil body, never a
 * genesis without a forum, and known fields still checked. */
static void test_later_kind(void **state)
{
    uint64_t kinds[] = {EK_MAX_KIND + 1, 255, HEARTH_MAX_KIND};
    for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
        struct spec s = spec_valid(EK_BOARD);
        s.kind = kinds[i];
        expect(&s, HERR_OK, NULL);
        s.root = X, s.ref = Y;
        spec_add(&s, KU("zz", 7));
        spec_add(&s, KBIN("subject", B.pk, HEARTH_PK_LEN));
        expect(&s, HERR_OK, NULL);
        s.nil_body = true;
        expect(&s, HERR_INVALID, "body missing on a kind that cannot be purged");
        s = spec_valid(EK_BOARD);
        s.kind = kinds[i];
        s.forum = NULL;
        expect(&s, HERR_INVALID, "only the genesis event has no forum");
        s = spec_valid(EK_BOARD);
        s.kind = kinds[i];
        s.kv[0] = KS("name", "");
        expect(&s, HERR_INVALID, "body field is empty");
        s.kv[0] = KU("name", 3);
        expect(&s, HERR_MALFORMED, "body field is not a valid string");
    }
}

/* device: an add carries the device's proof over (forum, person); a revocation no
 * proof; a pairing request, by the device, a proof and a pairing hash; a key is never
 * its own device. */
static void test_device_rules(void **state)
{
    static uint8_t proof[HEARTH_SIG_LEN], pairing[HEARTH_ID_LEN] = {7};
    device_proof_sign(proof, F, A.pk, &B);
    struct spec s = spec_valid(EK_DEVICE);
    expect(&s, HERR_OK, NULL);
    spec_add(&s, KU("until", 4));
    expect(&s, HERR_OK, NULL);
    spec_add(&s, KBIN("proof", proof, HEARTH_SIG_LEN));
    expect(&s, HERR_INVALID, "a device revocation carries no proof");
    s = spec_valid(EK_DEVICE);
    s.kv[0] = KB("grant", 1);
    expect(&s, HERR_INVALID, "a device add carries the device's proof and nothing else");
    spec_add(&s, KBIN("proof", proof, HEARTH_SIG_LEN));
    expect(&s, HERR_OK, NULL);
    spec_add(&s, KU("until", 4));
    expect(&s, HERR_INVALID, "a device add carries the device's proof and nothing else");
    s = spec_valid(EK_DEVICE);
    s.kv[0] = KB("grant", 1);
    uint8_t bad[HEARTH_SIG_LEN];
    device_proof_sign(bad, X, A.pk, &B); /* another forum's */
    spec_add(&s, KBIN("proof", bad, HEARTH_SIG_LEN));
    expect(&s, HERR_INVALID, "the device's proof does not verify");
    s.kv[1] = KBIN("proof", proof, 63);
    expect(&s, HERR_MALFORMED, "proof is not 64 bytes");
    s = spec_valid(EK_DEVICE);
    s.kv[1] = KBIN("subject", A.pk, HEARTH_PK_LEN);
    expect(&s, HERR_INVALID, "a key cannot be its own device");
    /* a request: by B, naming its person A */
    s = spec_valid(EK_DEVICE);
    s.key = &B;
    spec_drop(&s, "grant");
    s.kv[0] = KBIN("subject", A.pk, HEARTH_PK_LEN);
    expect(&s, HERR_INVALID, "a pairing request carries a proof and a pairing hash");
    spec_add(&s, KBIN("pairing", pairing, HEARTH_ID_LEN));
    spec_add(&s, KBIN("proof", proof, HEARTH_SIG_LEN));
    expect(&s, HERR_OK, NULL);
    s.kv[0] = KBIN("pairing", pairing, 31);
    expect(&s, HERR_MALFORMED, "pairing is not 32 bytes");
}

static void test_genesis_with_forum(void **state)
{
    struct spec s = spec_valid(EK_GENESIS);
    s.forum = F;
    expect(&s, HERR_INVALID, "only the genesis event has no forum");
}

static void test_missing_forum(void **state)
{
    for (uint32_t k = EK_BOARD; k <= EK_MAX_KIND; k++) {
        struct spec s = spec_valid(k);
        s.forum = NULL;
        expect(&s, HERR_INVALID, "only the genesis event has no forum");
    }
}

static void test_genesis_seq(void **state)
{
    uint64_t seqs[] = {2, 3, 1000, HEARTH_MAX_SEQ};
    for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
        struct spec s = spec_valid(EK_GENESIS);
        s.seq = seqs[i];
        expect(&s, HERR_INVALID, "genesis must be its author's first event");
    }
}

static void test_seq_and_created_range(void **state)
{
    struct spec s = spec_valid(EK_POST);
    s.seq = 0;
    expect(&s, HERR_INVALID, "seq out of range");
    s.seq = HEARTH_MAX_SEQ + 1;
    expect(&s, HERR_INVALID, "seq out of range");
    s.seq = UINT64_MAX;
    expect(&s, HERR_INVALID, "seq out of range");
    s.seq = HEARTH_MAX_SEQ;
    expect(&s, HERR_OK, NULL);
    s.created = HEARTH_MAX_SEQ + 1;
    expect(&s, HERR_INVALID, "created out of range");
    s.created = 0;
    expect(&s, HERR_OK, NULL);
    s.created = HEARTH_MAX_SEQ;
    expect(&s, HERR_OK, NULL);
}

static void test_root_rules(void **state)
{
    struct spec s = spec_valid(EK_REPLY);
    s.root = NULL;
    expect(&s, HERR_INVALID, "root missing");
    for (uint32_t k = 1; k <= EK_MAX_KIND; k++) {
        if (k == EK_REPLY)
            continue;
        s = spec_valid(k);
        s.root = Y;
        expect(&s, HERR_INVALID, "unexpected root");
    }
}

static void test_ref_rules(void **state)
{
    const uint32_t need[] = {EK_POST, EK_REPLY, EK_EDIT, EK_RETRACT, EK_REACT, EK_FLAG};
    const uint32_t none[] = {EK_GENESIS, EK_PROFILE, EK_RESOURCES, EK_SETTINGS};
    for (size_t i = 0; i < sizeof need / sizeof need[0]; i++) {
        struct spec s = spec_valid(need[i]);
        s.ref = NULL;
        expect(&s, HERR_INVALID, "ref missing");
    }
    for (size_t i = 0; i < sizeof none / sizeof none[0]; i++) {
        struct spec s = spec_valid(none[i]);
        s.ref = X;
        expect(&s, HERR_INVALID, "unexpected ref");
    }
}

static void test_body_hash_mismatch(void **state)
{
    struct spec s = spec_valid(EK_POST);
    s.bad_hash = true;
    expect(&s, HERR_INVALID, "body does not match its hash");
}

static void test_body_len_mismatch(void **state)
{
    struct spec s = spec_valid(EK_POST);
    s.len_delta = 1;
    expect(&s, HERR_INVALID, "body length does not match header");
    s.len_delta = -1;
    expect(&s, HERR_INVALID, "body length does not match header");
}

/* Every required field of every kind, dropped one at a time. */
static void test_missing_required(void **state)
{
    for (uint32_t k = 1; k <= EK_MAX_KIND; k++) {
        struct spec base = spec_valid(k);
        if (k == EK_SETTINGS)
            continue; /* nothing required; "settings change nothing" below */
        for (int i = 0; i < base.nkv; i++) {
            struct spec s = base;
            if (k == EK_DEVICE && !strcmp(base.kv[i].k, "grant"))
                continue; /* without it, a pairing request (test_device_rules) */
            spec_drop(&s, base.kv[i].k);
            expect(&s, HERR_INVALID, "a required body field is missing");
        }
    }
}

static void test_field_not_allowed(void **state)
{
    const struct {
        uint32_t kind;
        struct kv kv;
    } cases[] = {
        {EK_GENESIS, KS("title", "x")},    {EK_BOARD, KS("text", "x")},
        {EK_POST, KS("name", "x")},        {EK_REPLY, KS("title", "x")},
        {EK_EDIT, KS("reason", "x")},      {EK_RETRACT, KS("text", "x")},
        {EK_REACT, KS("text", "x")},       {EK_FLAG, KS("action", "hide")},
        {EK_PROFILE, KS("role", "admin")}, {EK_ROLE, KS("reason", "x")},
        {EK_MOD, KS("text", "x")},         {EK_RESOURCES, KS("cw", "x")},
        {EK_SETTINGS, KS("name", "x")},    {EK_BOARD, KU("hold", 1)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct spec s = spec_valid(cases[i].kind);
        spec_add(&s, cases[i].kv);
        expect(&s, HERR_INVALID, "body field not allowed for this kind");
    }
}

static void set_str(struct spec *s, const char *k, const char *v)
{
    spec_drop(s, k);
    spec_add(s, KS(k, v));
}

static void test_vocabularies(void **state)
{
    const char *reactions[] = {"support", "thinking-of-you", "this-helped", "me-too", "hug"};
    const char *roles[] = {"admin", "moderator", "professional", "peer-worker"};
    const char *actions[] = {"hide",   "unhide", "remove", "lock",
                             "unlock", "pin",    "unpin",  "approve"};
    struct spec s;
    for (size_t i = 0; i < sizeof reactions / sizeof reactions[0]; i++) {
        s = spec_valid(EK_REACT);
        set_str(&s, "reaction", reactions[i]);
        expect(&s, HERR_OK, NULL);
    }
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++) {
        s = spec_valid(EK_ROLE);
        set_str(&s, "role", roles[i]);
        expect(&s, HERR_OK, NULL);
    }
    for (size_t i = 0; i < sizeof actions / sizeof actions[0]; i++) {
        s = spec_valid(EK_MOD);
        set_str(&s, "action", actions[i]);
        expect(&s, HERR_OK, NULL);
    }
    const char *bad_reactions[] = {"like", "Support", "support ", "hugs", "angry"};
    for (size_t i = 0; i < sizeof bad_reactions / sizeof bad_reactions[0]; i++) {
        s = spec_valid(EK_REACT);
        set_str(&s, "reaction", bad_reactions[i]);
        expect(&s, HERR_INVALID, "unknown reaction");
    }
    const char *bad_roles[] = {"owner", "Admin", "mod", "founder"};
    for (size_t i = 0; i < sizeof bad_roles / sizeof bad_roles[0]; i++) {
        s = spec_valid(EK_ROLE);
        set_str(&s, "role", bad_roles[i]);
        expect(&s, HERR_INVALID, "unknown role");
    }
    const char *bad_actions[] = {"delete", "HIDE", "kick", "hid"};
    for (size_t i = 0; i < sizeof bad_actions / sizeof bad_actions[0]; i++) {
        s = spec_valid(EK_MOD);
        set_str(&s, "action", bad_actions[i]);
        expect(&s, HERR_INVALID, "unknown moderation action");
    }
}

static void test_mod_subject(void **state)
{
    const char *reason = "ban and unban name a subject, other actions a target";
    const char *on_author[] = {"ban", "unban"};
    for (int i = 0; i < 2; i++) {
        struct spec s = spec_valid(EK_MOD);
        set_str(&s, "action", on_author[i]);
        s.ref = NULL;
        expect(&s, HERR_INVALID, reason); /* without a subject */
        spec_add(&s, KBIN("subject", B.pk, HEARTH_PK_LEN));
        expect(&s, HERR_OK, NULL);
        s.ref = X; /* a subject and a ref */
        expect(&s, HERR_INVALID, reason);
    }
    struct spec s = spec_valid(EK_MOD); /* hide with a subject */
    spec_add(&s, KBIN("subject", B.pk, HEARTH_PK_LEN));
    expect(&s, HERR_INVALID, reason);
    s.ref = NULL;
    expect(&s, HERR_INVALID, reason);
    s = spec_valid(EK_MOD); /* hide without a ref */
    s.ref = NULL;
    expect(&s, HERR_INVALID, reason);
}

static void test_role_ref(void **state)
{
    const char *reason = "a grant has no ref, a revocation refs its grant";
    struct spec s = spec_valid(EK_ROLE);
    s.ref = X; /* a grant with a ref */
    expect(&s, HERR_INVALID, reason);
    spec_drop(&s, "grant");
    spec_add(&s, KB("grant", 0));
    expect(&s, HERR_OK, NULL); /* a revocation with its ref */
    spec_add(&s, KU("until", T0));
    expect(&s, HERR_OK, NULL);
    spec_drop(&s, "until");
    spec_add(&s, KU("until", HEARTH_MAX_SEQ + 1));
    expect(&s, HERR_INVALID, "until out of range");
    spec_drop(&s, "until");
    s.ref = NULL; /* a revocation without a ref */
    expect(&s, HERR_INVALID, reason);

    s = spec_valid(EK_ROLE);
    spec_add(&s, KU("until", T0));
    expect(&s, HERR_INVALID, "until belongs to a revocation");
}

static void test_nil_body(void **state)
{
    const bool purgeable[EK_MAX_KIND + 1] = {
        [EK_POST] = true, [EK_REPLY] = true,   [EK_EDIT] = true,    [EK_REACT] = true,
        [EK_FLAG] = true, [EK_PROFILE] = true, [EK_MESSAGE] = true,
    };
    for (uint32_t k = 1; k <= EK_MAX_KIND; k++) {
        struct spec s = spec_valid(k);
        s.nil_body = true;
        if (purgeable[k])
            expect(&s, HERR_OK, NULL);
        else
            expect(&s, HERR_INVALID, "body missing on a kind that cannot be purged");
    }
    /* A purged event has nothing to check its hash and length against. */
    struct spec s = spec_valid(EK_POST);
    s.nil_body = true, s.bad_hash = true, s.len_delta = 5;
    expect(&s, HERR_OK, NULL);
}

static void test_unsorted_keys(void **state)
{
    const char *reason = "body keys are not in ascending order";
    struct spec s = spec_valid(EK_POST); /* text, title -> title, text */
    struct kv t = s.kv[0];
    s.kv[0] = s.kv[1], s.kv[1] = t;
    expect(&s, HERR_NONCANONICAL, reason);
    /* A prefix comes before its extensions. */
    s = spec_valid(EK_PROFILE);
    spec_add(&s, KU("x", 1));
    spec_add(&s, KU("xy", 2));
    expect(&s, HERR_OK, NULL);
    s.kv[1] = KU("xy", 2), s.kv[2] = KU("x", 1);
    expect(&s, HERR_NONCANONICAL, reason);
    /* Bytes compare unsigned: "\xc3\xa9" sorts after "z". */
    s = spec_valid(EK_PROFILE);
    spec_add(&s, KU("z", 1));
    s.kv[s.nkv++] = KU("\xc3\xa9", 2);
    expect(&s, HERR_OK, NULL);
    s.kv[1] = KU("\xc3\xa9", 2), s.kv[2] = KU("z", 1);
    expect(&s, HERR_NONCANONICAL, reason);
}

static void test_duplicate_keys(void **state)
{
    struct spec s = spec_valid(EK_POST);
    s.kv[s.nkv++] = KS("title", "again");
    expect(&s, HERR_NONCANONICAL, "body keys are not in ascending order");
    s = spec_valid(EK_PROFILE);
    spec_add(&s, KU("zz", 1));
    s.kv[s.nkv++] = KU("zz", 1);
    expect(&s, HERR_NONCANONICAL, "body keys are not in ascending order");
}

static void test_unknown_nested(void **state)
{
    enum vt types[] = {VARRAY, VMAP};
    for (int i = 0; i < 2; i++) {
        struct spec s = spec_valid(EK_POST);
        spec_add(&s, (struct kv){"zz-future", types[i], NULL, 0, 0});
        expect(&s, HERR_MALFORMED, "unknown body field is not a scalar");
    }
}

/* Forward compatibility: unknown keys with scalar values are accepted, and bound by
 * the body hash like any other byte of the body. */
static void test_unknown_scalars(void **state)
{
    struct spec s = spec_valid(EK_POST);
    spec_add(&s, (struct kv){"", VNIL, NULL, 0, 0});
    spec_add(&s, (struct kv){"aaa", VNIL, NULL, 0, 0});
    spec_add(&s, KBIN("x-bin", "\x00\x01\x02", 3));
    spec_add(&s, KB("x-bool", 1));
    spec_add(&s, KS("x-str", "future text"));
    spec_add(&s, KU("x-uint", 123456789));
    expect(&s, HERR_OK, NULL);

    struct hbuf one, two;
    hbuf_init(&one, 2 * HEARTH_MAX_EVENT);
    hbuf_init(&two, 2 * HEARTH_MAX_EVENT);
    encode(&s, &one);
    struct event e1, e2;
    assert_int_equal(event_parse(&e1, one.data, one.len, NULL), HERR_OK);
    assert_int_equal(e1.b.title.n, 2);
    assert_memory_equal(e1.b.text.p, "hello", 5);
    /* Change only the unknown value: another body hash, so another id. */
    spec_drop(&s, "x-uint");
    spec_add(&s, KU("x-uint", 123456788));
    encode(&s, &two);
    assert_int_equal(event_parse(&e2, two.data, two.len, NULL), HERR_OK);
    assert_memory_not_equal(e1.id, e2.id, HEARTH_ID_LEN);
    /* The second body under the first header does not match its hash. */
    struct hbuf mixed;
    hbuf_init(&mixed, 2 * HEARTH_MAX_EVENT);
    assert_int_equal(event_envelope(&mixed, e1.header, e1.header_len, e1.sig, e2.body, e2.body_len),
                     HERR_OK);
    const char *why;
    struct event e3;
    assert_int_equal(event_parse(&e3, mixed.data, mixed.len, &why), HERR_INVALID);
    assert_string_equal(why, "body does not match its hash");
    hbuf_release(&one);
    hbuf_release(&two);
    hbuf_release(&mixed);

    /* An unknown str is still checked: valid UTF-8 only. */
    s = spec_valid(EK_POST);
    spec_add(&s, KS("x-str", "\xc0\x80"));
    expect(&s, HERR_NONCANONICAL, "unknown body field is not a scalar");
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = 0;
    return s;
}

static void test_oversize_fields(void **state)
{
    const struct {
        uint32_t kind;
        const char *key;
        size_t max;
    } cases[] = {
        {EK_POST, "title", HEARTH_MAX_TITLE},    {EK_POST, "text", HEARTH_MAX_TEXT},
        {EK_POST, "cw", HEARTH_MAX_SHORT},       {EK_BOARD, "name", HEARTH_MAX_NAME},
        {EK_PROFILE, "name", HEARTH_MAX_NAME},   {EK_GENESIS, "name", HEARTH_MAX_NAME},
        {EK_BOARD, "about", HEARTH_MAX_SHORT},   {EK_FLAG, "reason", HEARTH_MAX_SHORT},
        {EK_RESOURCES, "text", HEARTH_MAX_TEXT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *at = repeat('a', cases[i].max), *over = repeat('a', cases[i].max + 1);
        struct spec s = spec_valid(cases[i].kind);
        for (int j = 0; j < s.nkv; j++)
            if (strcmp(s.kv[j].k, cases[i].key) == 0)
                spec_drop(&s, cases[i].key);
        spec_add(&s, KS(cases[i].key, at));
        expect(&s, HERR_OK, NULL);
        set_str(&s, cases[i].key, over);
        expect(&s, HERR_TOO_LARGE, "body field too long");
        free(at);
        free(over);
    }
    /* Bytes, not characters: 64 bytes of two-byte characters is the name limit. */
    char name[HEARTH_MAX_NAME + 3];
    for (int i = 0; i < HEARTH_MAX_NAME; i += 2)
        name[i] = '\xc3', name[i + 1] = '\xa9';
    name[HEARTH_MAX_NAME] = 0;
    struct spec s = spec_valid(EK_PROFILE);
    set_str(&s, "name", name);
    expect(&s, HERR_OK, NULL);
    name[HEARTH_MAX_NAME] = '\xc3', name[HEARTH_MAX_NAME + 1] = '\xa9',
    name[HEARTH_MAX_NAME + 2] = 0;
    set_str(&s, "name", name);
    expect(&s, HERR_TOO_LARGE, "body field too long");
}

static void test_empty_string(void **state)
{
    const struct {
        uint32_t kind;
        const char *key;
    } cases[] = {
        {EK_POST, "title"},     {EK_POST, "text"},  {EK_BOARD, "name"},
        {EK_REACT, "reaction"}, {EK_MOD, "reason"}, {EK_ROLE, "role"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct spec s = spec_valid(cases[i].kind);
        set_str(&s, cases[i].key, "");
        expect(&s, HERR_INVALID, "body field is empty");
    }
    struct spec s = spec_valid(EK_POST);
    spec_add(&s, KS("cw", ""));
    expect(&s, HERR_INVALID, "body field is empty");
}

/* parse_raw_body - parse an event of kind k whose body is exactly body[0..n). */
static herr parse_raw_body(uint32_t k, const void *body, size_t n, const char **why)
{
    struct spec s = spec_valid(k);
    struct hbuf env;
    hbuf_init(&env, 2 * HEARTH_MAX_EVENT);
    encode_body(&s, body, n, &env);
    herr e = parse_env(env.data, env.len, why);
    hbuf_release(&env);
    return e;
}

/* L - a string literal and its length, NULs included. */
#define L(lit) lit, sizeof(lit) - 1

static void test_body_shape(void **state)
{
    const char *why;
    static const struct {
        uint32_t kind;
        const char *body;
        size_t n;
        herr code;
        const char *reason;
    } cases[] = {
        {EK_RETRACT, L(""), HERR_MALFORMED, "body is not a map"},
        {EK_RETRACT, L("\x90"), HERR_MALFORMED, "body is not a map"},
        {EK_RETRACT, L("\xc0"), HERR_MALFORMED, "body is not a map"},
        {EK_RETRACT, L("\xde\x00\x00"), HERR_NONCANONICAL, "body is not a map"},
        {EK_RETRACT, L("\x80\x00"), HERR_MALFORMED, "trailing bytes after body"},
        {EK_RETRACT, L("\x80\x80"), HERR_MALFORMED, "trailing bytes after body"},
        {EK_RETRACT, L("\x81\x01\x01"), HERR_MALFORMED, "body key is not a short string"},
        {EK_RETRACT, L("\x81\xc4\x01x\x01"), HERR_MALFORMED, "body key is not a short string"},
        {EK_RETRACT, L("\x81\xa2\xc3\x28\x01"), HERR_NONCANONICAL,
         "body key is not a short string"},
        {EK_RETRACT, L("\x81\xa1x"), HERR_MALFORMED, "unknown body field is not a scalar"},
        {EK_RETRACT, L("\x81\xa1x\xcc\x01"), HERR_NONCANONICAL,
         "unknown body field is not a scalar"},
        {EK_RETRACT, L("\x81\xa1x\xd0\x01"), HERR_MALFORMED, "unknown body field is not a scalar"},
        {EK_RETRACT, L("\x81\xa1x\xca\x00\x00\x00\x00"), HERR_MALFORMED,
         "unknown body field is not a scalar"},
        {EK_REACT, L("\x81\xa8reaction\x01"), HERR_MALFORMED, "body field is not a valid string"},
        {EK_REACT, L("\x81\xa8reaction\xa3h\xc3\x28"), HERR_NONCANONICAL,
         "body field is not a valid string"},
        {EK_REACT, L("\x81\xa8reaction\xa4hug\x00"), HERR_NONCANONICAL,
         "body field is not a valid string"},
        {EK_REACT, L("\x81\xa8reaction\xd9\x03hug"), HERR_NONCANONICAL,
         "body field is not a valid string"},
        {EK_ROLE,
         L("\x83\xa5grant\x01\xa4role\xa5"
           "admin\xa7subject\xc4\x20"
           "0123456789abcdef0123456789abcdef"),
         HERR_MALFORMED, "grant is not a boolean"},
        {EK_ROLE,
         L("\x83\xa5grant\xc3\xa4role\xa5"
           "admin\xa7subject\xc4\x1f"
           "0123456789abcdef0123456789abcde"),
         HERR_MALFORMED, "subject is not a 32-byte key"},
        {EK_ROLE,
         L("\x83\xa5grant\xc3\xa4role\xa5"
           "admin\xa7subject\xa2xy"),
         HERR_MALFORMED, "subject is not a 32-byte key"},
        {EK_SETTINGS, L("\x81\xa4hold\xa1\x31"), HERR_MALFORMED,
         "setting is not an unsigned integer"},
        {EK_SETTINGS, L("\x81\xa4hold\xcd\x03\xe9"), HERR_INVALID, "setting out of range"},
        {EK_SETTINGS,
         L("\x81\xa5"
           "flags\xcd\x03\xe9"),
         HERR_INVALID, "setting out of range"},
        {EK_SETTINGS, L("\x81\xa4hold\xcd\x03\xe8"), HERR_OK, ""},
        {EK_SETTINGS, L("\x80"), HERR_INVALID, "settings change nothing"},
        {EK_SETTINGS, L("\x81\xa1x\x01"), HERR_INVALID, "settings change nothing"},
        {EK_ROLE,
         L("\x84\xa5grant\xc2\xa4role\xa5"
           "admin\xa7subject\xc4\x20"
           "0123456789abcdef0123456789abcdef"
           "\xa5until\xa1x"),
         HERR_MALFORMED, "until is not an unsigned integer"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        herr e = parse_raw_body(cases[i].kind, cases[i].body, cases[i].n, &why);
        if (e != cases[i].code || strcmp(why, cases[i].reason) != 0)
            fail_msg("case %zu: got %s \"%s\", want %s \"%s\"", i, herr_str(e), why,
                     herr_str(cases[i].code), cases[i].reason);
    }
}

static void test_body_limits(void **state)
{
    /* 16 pairs is the most; 17 is too many. */
    struct spec s = spec_valid(EK_RETRACT);
    static char keys[17][4];
    for (int i = 0; i < 16; i++) {
        snprintf(keys[i], sizeof keys[i], "k%02d", i);
        s.kv[s.nkv++] = KU(keys[i], (uint64_t)i);
    }
    expect(&s, HERR_OK, NULL);
    snprintf(keys[16], sizeof keys[16], "k16");
    s.kv[s.nkv++] = KU(keys[16], 16);
    expect(&s, HERR_TOO_LARGE, "too many body fields");

    /* A key of 32 bytes is the most. */
    char *k32 = repeat('k', HEARTH_MAX_KEY), *k33 = repeat('k', HEARTH_MAX_KEY + 1);
    s = spec_valid(EK_RETRACT);
    spec_add(&s, KU(k32, 1));
    expect(&s, HERR_OK, NULL);
    s = spec_valid(EK_RETRACT);
    spec_add(&s, KU(k33, 1));
    expect(&s, HERR_TOO_LARGE, "body key is not a short string");
    free(k32);
    free(k33);
}

/* ---- signatures, forums ---- */

static void test_verify_flipped_bits(void **state)
{
    for (int v = 0; v < N_VECTORS; v++) {
        size_t n;
        uint8_t *buf = unhex(vectors[v].env, &n);
        struct event ev;
        assert_int_equal(event_parse(&ev, buf, n, NULL), HERR_OK);
        assert_int_equal(event_verify(&ev), HERR_OK);
        /* ev.header and ev.sig point into buf: flip them in place. */
        uint8_t *h = (uint8_t *)ev.header, *sig = (uint8_t *)ev.sig;
        for (uint32_t i = 0; i < ev.header_len * 8; i++) {
            h[i / 8] ^= (uint8_t)(1u << (i % 8));
            assert_int_equal(event_verify(&ev), HERR_BAD_SIG);
            h[i / 8] ^= (uint8_t)(1u << (i % 8));
        }
        for (uint32_t i = 0; i < HEARTH_SIG_LEN * 8; i++) {
            sig[i / 8] ^= (uint8_t)(1u << (i % 8));
            assert_int_equal(event_verify(&ev), HERR_BAD_SIG);
            sig[i / 8] ^= (uint8_t)(1u << (i % 8));
        }
        ev.author[5] ^= 1;
        assert_int_equal(event_verify(&ev), HERR_BAD_SIG);
        ev.author[5] ^= 1;
        assert_int_equal(event_verify(&ev), HERR_OK);
        free(buf);
    }
}

/* Signed by someone else than the author the header names. */
static void test_wrong_signer(void **state)
{
    struct spec s = spec_valid(EK_POST);
    struct hbuf env;
    hbuf_init(&env, 2 * HEARTH_MAX_EVENT);
    encode(&s, &env);
    struct event ev;
    assert_int_equal(event_parse(&ev, env.data, env.len, NULL), HERR_OK);
    uint8_t sig[HEARTH_SIG_LEN];
    sign_detached(sig, EVENT_SIG_TAG, ev.header, ev.header_len, &B);
    memcpy((uint8_t *)ev.sig, sig, sizeof sig);
    assert_int_equal(event_verify(&ev), HERR_BAD_SIG);
    /* The right key over another tag is not an event signature either. */
    sign_detached(sig, "hearth/event/v2", ev.header, ev.header_len, &A);
    memcpy((uint8_t *)ev.sig, sig, sizeof sig);
    assert_int_equal(event_verify(&ev), HERR_BAD_SIG);
    hbuf_release(&env);
}

static void test_check_forum(void **state)
{
    size_t n, m;
    uint8_t *g = unhex(vectors[V_GENESIS].env, &n);
    uint8_t *b = unhex(vectors[V_BOARD].env, &m);
    struct event ge, be;
    assert_int_equal(event_parse(&ge, g, n, NULL), HERR_OK);
    assert_int_equal(event_parse(&be, b, m, NULL), HERR_OK);
    assert_int_equal(event_check_forum(&ge, ge.id), HERR_OK);
    assert_int_equal(event_check_forum(&be, ge.id), HERR_OK);
    uint8_t other[HEARTH_ID_LEN];
    memcpy(other, ge.id, sizeof other);
    other[31] ^= 1;
    assert_int_equal(event_check_forum(&ge, other), HERR_WRONG_FORUM);
    assert_int_equal(event_check_forum(&be, other), HERR_WRONG_FORUM);
    /* Another forum's genesis is not this forum's, though it has no forum field. */
    struct spec s = spec_valid(EK_GENESIS);
    struct hbuf env;
    hbuf_init(&env, 2 * HEARTH_MAX_EVENT);
    encode(&s, &env);
    struct event oe;
    assert_int_equal(event_parse(&oe, env.data, env.len, NULL), HERR_OK);
    assert_int_equal(event_check_forum(&oe, ge.id), HERR_WRONG_FORUM);
    hbuf_release(&env);
    free(g);
    free(b);
}

/* ---- sweeps ---- */

/* mutation_ok - true when x is one of the changes tried at every byte: each single
 * bit, and all bits. Two vectors get every value at every byte; the others only
 * these, because a changed signature byte costs a full verification. */
static bool mutation_ok(int v, unsigned x)
{
    return v == V_REACT || v == V_PURGED || x == 0xff || (x & (x - 1)) == 0;
}

/* Change every byte of every vector: nothing else both parses and verifies. */
static void test_mutation_sweep(void **state)
{
    for (int v = 0; v < N_VECTORS; v++) {
        size_t n;
        uint8_t *orig = unhex(vectors[v].env, &n);
        uint8_t *buf = malloc(n);
        assert_non_null(buf);
        memcpy(buf, orig, n);
        for (size_t i = 0; i < n; i++) {
            for (unsigned x = 1; x < 256; x++) {
                if (!mutation_ok(v, x))
                    continue;
                buf[i] = (uint8_t)(orig[i] ^ x);
                struct event ev;
                if (event_parse(&ev, buf, n, NULL) == HERR_OK && event_verify(&ev) == HERR_OK)
                    fail_msg("vector %s: byte %zu ^ %02x still parses and verifies",
                             vectors[v].name, i, x);
            }
            buf[i] = orig[i];
        }
        free(buf);
        free(orig);
    }
}

/* Every prefix and every one-byte deletion of every vector is rejected. */
static void test_truncation_sweep(void **state)
{
    for (int v = 0; v < N_VECTORS; v++) {
        size_t n;
        uint8_t *orig = unhex(vectors[v].env, &n);
        for (size_t cut = 0; cut < n; cut++) {
            uint8_t *p = malloc(cut ? cut : 1);
            assert_non_null(p);
            memcpy(p, orig, cut);
            struct event ev;
            assert_int_not_equal(event_parse(&ev, p, cut, NULL), HERR_OK);
            free(p);
        }
        uint8_t *del = malloc(n);
        assert_non_null(del);
        for (size_t i = 0; i < n; i++) {
            memcpy(del, orig, i);
            memcpy(del + i, orig + i + 1, n - i - 1);
            struct event ev;
            assert_int_not_equal(event_parse(&ev, del, n - 1, NULL), HERR_OK);
        }
        free(del);
        free(orig);
    }
}

/* ---- event_build and names ---- */

static void test_build_rejects(void **state)
{
    struct hbuf out;
    uint8_t id[HEARTH_ID_LEN];
    const char *why = NULL;
    hbuf_init(&out, HEARTH_MAX_EVENT);
    assert_int_equal(hbuf_append(&out, "keep", 4), HERR_OK);

    struct event_draft d = {.kind = EK_REACT, .forum = F, .seq = 3, .created = T0, .ref = X};
    d.b.reaction = S("like");
    assert_int_equal(event_build(&d, &A, &out, id, &why), HERR_INVALID);
    assert_string_equal(why, "unknown reaction");
    assert_int_equal(out.len, 4);

    d.b.reaction = S("hug");
    d.ref = NULL;
    assert_int_equal(event_build(&d, &A, &out, id, &why), HERR_INVALID);
    assert_string_equal(why, "ref missing");
    assert_int_equal(out.len, 4);

    d.ref = X;
    d.kind = HEARTH_MAX_KIND + 1;
    assert_int_equal(event_build(&d, &A, &out, id, &why), HERR_KIND);
    assert_int_equal(out.len, 4);

    d.kind = EK_REACT;
    assert_int_equal(event_build(&d, &A, &out, id, &why), HERR_OK);
    assert_memory_equal(out.data, "keep", 4);
    struct event ev;
    assert_int_equal(event_parse(&ev, out.data + 4, out.len - 4, NULL), HERR_OK);
    assert_memory_equal(ev.id, id, HEARTH_ID_LEN);
    hbuf_release(&out);
}

/* A message: its ref is optional; its subject and author must be among the readers;
 * its sealed bytes must have a message's shape. */
static void test_message_rules(void **state)
{
    struct spec s = spec_valid(EK_MESSAGE);
    s.ref = X;
    expect(&s, HERR_OK, NULL);
    s = spec_valid(EK_MESSAGE);
    s.kv[1] = KBIN("subject", B.pk, HEARTH_PK_LEN);
    expect(&s, HERR_INVALID, "the author and the subject must be readers");
    size_t n;
    const uint8_t *b = fake_sealed(&n);
    s = spec_valid(EK_MESSAGE);
    s.kv[0] = KBIN("sealed", b, n - 1);
    expect(&s, HERR_MALFORMED, "sealed message length does not fit its readers");
    s.kv[0] = KBIN("sealed", b, 3);
    expect(&s, HERR_MALFORMED, "sealed message too short");
    s.kv[0] = KS("sealed", "text");
    expect(&s, HERR_MALFORMED, "sealed is not a bin");
}

static void test_kind_names(void **state)
{
    const char *names[] = {NULL,        "genesis",  "board",   "post",    "reply", "edit",
                           "retract",   "react",    "flag",    "profile", "role",  "mod",
                           "resources", "settings", "message", "device"};
    for (uint32_t k = 1; k <= EK_MAX_KIND; k++) {
        assert_string_equal(event_kind_name(k), names[k]);
        assert_int_equal(event_kind_from_name(names[k]), k);
    }
    assert_string_equal(event_kind_name(0), "unknown");
    assert_string_equal(event_kind_name(EK_MAX_KIND + 1), "unknown");
    assert_int_equal(event_kind_from_name("nope"), 0);
    assert_int_equal(event_kind_from_name(""), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors_build),
        cmocka_unit_test(test_vectors_parse),
        cmocka_unit_test(test_vectors_fields),
        cmocka_unit_test(test_vectors_in_doc),
        cmocka_unit_test(test_valid_specs),
        cmocka_unit_test(test_wrong_envelope),
        cmocka_unit_test(test_envelope_parts),
        cmocka_unit_test(test_trailing_bytes),
        cmocka_unit_test(test_too_large),
        cmocka_unit_test(test_header_shape),
        cmocka_unit_test(test_unknown_version),
        cmocka_unit_test(test_unknown_kind),
        cmocka_unit_test(test_later_kind),
        cmocka_unit_test(test_device_rules),
        cmocka_unit_test(test_genesis_with_forum),
        cmocka_unit_test(test_missing_forum),
        cmocka_unit_test(test_genesis_seq),
        cmocka_unit_test(test_seq_and_created_range),
        cmocka_unit_test(test_root_rules),
        cmocka_unit_test(test_ref_rules),
        cmocka_unit_test(test_body_hash_mismatch),
        cmocka_unit_test(test_body_len_mismatch),
        cmocka_unit_test(test_missing_required),
        cmocka_unit_test(test_field_not_allowed),
        cmocka_unit_test(test_vocabularies),
        cmocka_unit_test(test_mod_subject),
        cmocka_unit_test(test_role_ref),
        cmocka_unit_test(test_nil_body),
        cmocka_unit_test(test_unsorted_keys),
        cmocka_unit_test(test_duplicate_keys),
        cmocka_unit_test(test_unknown_nested),
        cmocka_unit_test(test_unknown_scalars),
        cmocka_unit_test(test_oversize_fields),
        cmocka_unit_test(test_empty_string),
        cmocka_unit_test(test_body_shape),
        cmocka_unit_test(test_body_limits),
        cmocka_unit_test(test_verify_flipped_bits),
        cmocka_unit_test(test_wrong_signer),
        cmocka_unit_test(test_check_forum),
        cmocka_unit_test(test_mutation_sweep),
        cmocka_unit_test(test_truncation_sweep),
        cmocka_unit_test(test_build_rejects),
        cmocka_unit_test(test_kind_names),
        cmocka_unit_test(test_message_rules),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

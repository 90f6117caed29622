/* fuzz_form.c - the web's form decoder and text check on arbitrary bytes: a decoded
 * form's values are valid UTF-8 without NUL, its fields bounded. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/mp.h"
#include "base/utf8.h"
#include "web/form.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 300000)
        return 0;
    struct form f;
    const char *why = NULL;
    herr e = form_parse(&f, (const char *)data, size, &why);
    if (e && !why)
        __builtin_trap();
    if (!e) {
        if (f.n > FORM_MAX_FIELDS)
            __builtin_trap();
        for (size_t i = 0; i < f.n; i++) {
            size_t n = strlen(f.value[i]);
            if (!utf8_valid(f.value[i], n) || strlen(f.name[i]) > FORM_MAX_NAME ||
                form_get(&f, f.name[i]) == NULL)
                __builtin_trap();
            (void)form_text_ok(f.value[i]);
        }
    }
    form_release(&f);
    return 0;
}

using CronFunctions;
using CronFunctions.Runners.Local;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

// The same assembly is a local job's lifeline (a watchdog process the local runner starts): see Lifeline.
if (Lifeline.Is(args))
{
    return await Lifeline.RunAsync(args);
}

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
builder.AddCronFunctions();
await builder.Build().RunAsync();
return 0;

using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;
#if APP_INSIGHTS
using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.DependencyInjection;
#endif

var builder = FunctionsApplication.CreateBuilder(args);
builder.ConfigureFunctionsWebApplication();
#if APP_INSIGHTS
// As CronFunctions wires it (AddCronFunctions): the floor with the platform's monitoring in place.
builder.Services.AddApplicationInsightsTelemetryWorkerService().ConfigureFunctionsApplicationInsights();
#endif
builder.Build().Run();
